"""nnx.learner: fastai's Learner (fit, fit_one_cycle, lr_find, fine_tune, freeze/unfreeze), its callbacks,
schedules and recorder."""
from .callback import (
                       EVENTS,
                       Callback,
                       CancelBackwardException,
                       CancelBatchException,
                       CancelEpochException,
                       CancelFitException,
                       CancelStepException,
                       CancelTrainException,
                       CancelValidException,
                       TrainEvalCallback,
)
from .callbacks import (
                       CSVLogger,
                       EarlyStoppingCallback,
                       GradientClip,
                       SaveModelCallback,
                       TerminateOnNaNCallback,
                       TrackerCallback,
)
from .checkpoint import CheckpointError
from .guards import CtrlCCallback, DeferredLossCallback, NonFiniteLossCallback
from .learner import Learner, NonFiniteLossError, trainable_params
from .progress import ProgressCallback
from .recorder import Recorder
from .schedule import (
                       LRFinder,
                       ParamScheduler,
                       SchedCos,
                       SchedExp,
                       SchedLin,
                       SchedNo,
                       SchedPoly,
                       SuggestedLRs,
                       combine_scheds,
                       combined_cos,
                       sched_cos,
                       sched_exp,
                       sched_lin,
                       sched_no,
)

__all__ = [
    "Learner", "trainable_params", "CheckpointError", "NonFiniteLossError",
    "EVENTS", "Callback", "TrainEvalCallback", "Recorder", "ProgressCallback", "ParamScheduler", "LRFinder",
    "TrackerCallback", "EarlyStoppingCallback", "SaveModelCallback", "TerminateOnNaNCallback", "CSVLogger",
    "GradientClip", "DeferredLossCallback", "NonFiniteLossCallback", "CtrlCCallback",
    "CancelFitException", "CancelEpochException", "CancelTrainException", "CancelValidException",
    "CancelBatchException", "CancelBackwardException", "CancelStepException",
    "SchedLin", "SchedCos", "SchedNo", "SchedExp", "SchedPoly", "combine_scheds", "combined_cos",
    "sched_lin", "sched_cos", "sched_no", "sched_exp", "SuggestedLRs",
]
