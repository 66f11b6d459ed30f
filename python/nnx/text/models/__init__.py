"""nnx.text.models: fastai's AWD-LSTM (awdlstm) and the language-model and classifier heads over it (core)."""
from .awdlstm import (
    AWD_LSTM,
    EmbeddingDropout,
    RNNDropout,
    WeightDropout,
    awd_lstm_clas_config,
    awd_lstm_clas_split,
    awd_lstm_lm_config,
    awd_lstm_lm_split,
    awd_lstm_small_config,
    dropout_mask,
)
from .core import (
    LinearDecoder,
    PoolingLinearClassifier,
    SentenceEncoder,
    SequentialRNN,
    get_language_model,
    get_text_classifier,
    masked_concat_pool,
    model_meta,
)

__all__ = ["dropout_mask", "RNNDropout", "WeightDropout", "EmbeddingDropout", "AWD_LSTM", "awd_lstm_lm_split",
           "awd_lstm_lm_config", "awd_lstm_clas_split", "awd_lstm_clas_config", "awd_lstm_small_config",
           "LinearDecoder", "SequentialRNN", "get_language_model", "SentenceEncoder", "masked_concat_pool",
           "PoolingLinearClassifier", "get_text_classifier", "model_meta"]
