"""The layer classes of nnx.nn, one file per family."""
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .container import ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .normalization import BatchNorm1d, LayerNorm
from .pooling import MaxPool2d
from .sparse import Embedding

__all__ = ["Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus",
           "Softmax", "LogSoftmax", "Dropout", "Embedding", "BatchNorm1d", "LayerNorm", "Sequential", "ModuleList",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss", "MaxPool2d",
           "Conv2d", "Conv1d"]
