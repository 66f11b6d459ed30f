"""nnx.nn: modules, parameters, initialisers and the functional API, with PyTorch's names."""
from . import functional, init, utils
from .module import Module
from .modules import (GELU, BatchNorm1d, BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding, Flatten, Identity,
                      L1Loss, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, ModuleList, MSELoss, NLLLoss, ReLU,
                      Sequential, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .parameter import Parameter

__all__ = ["Module", "Parameter", "functional", "init", "utils", "Linear", "Identity", "Flatten", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax", "Dropout",
           "Embedding", "BatchNorm1d", "LayerNorm", "Sequential", "ModuleList", "CrossEntropyLoss", "NLLLoss",
           "MSELoss", "L1Loss", "BCEWithLogitsLoss", "MaxPool2d"]
