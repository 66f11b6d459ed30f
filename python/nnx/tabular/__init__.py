"""nnx.tabular: fastai's tabular models on NumPy arrays (and pandas DataFrames when pandas is installed)."""
from .preprocessing import TabularPreprocessor, cont_cat_split

__all__ = ["TabularPreprocessor", "cont_cat_split"]
