"""nnx.tabular: fastai's tabular models on NumPy arrays (and pandas DataFrames when pandas is installed):
preprocessing (Categorify, FillMissing, Normalize), TabularModel, TabularDataLoaders and tabular_learner."""
from .data import TabularDataLoader, TabularDataLoaders
from .learner import MSELossFlat, TabularLearner, load_learner, tabular_config, tabular_learner
from .model import Embedding, LinBnDrop, SigmoidRange, TabularModel, emb_sz_rule, get_emb_sz
from .preprocessing import TabularPreprocessor, cont_cat_split

__all__ = ["TabularPreprocessor", "cont_cat_split", "TabularModel", "Embedding", "LinBnDrop", "SigmoidRange",
           "emb_sz_rule", "get_emb_sz", "TabularDataLoader", "TabularDataLoaders", "TabularLearner",
           "tabular_learner", "tabular_config", "load_learner", "MSELossFlat"]
