"""nnx.vision: image classification, fastai's way — torchvision's ResNets and fastai's XResNets (models), the
building blocks and classifier head (layers), ImageDataLoaders (data), transfer learning with vision_learner
(learner), ClassificationInterpretation (interpret), video clips (video), generated image sets (synthetic), and
batch augmentation (augment). `python -m nnx vision` runs the demo (demo)."""
from .data import ImageDataLoader, ImageDataLoaders, image_stats
from .interpret import ClassificationInterpretation
from .layers import AdaptiveConcatPool2d, ConvLayer, NormType, apply_init, create_head, init_cnn
from .learner import (
    cnn_learner,
    create_body,
    create_vision_model,
    default_split,
    has_pool_type,
    imagenet_stats,
    model_meta,
    num_features_model,
    vision_learner,
)
from .models import ResNet, XResNet, resnet18, resnet34, resnet50, simple_cnn, xresnet18, xresnet34, xresnet50
from .video import FrameClassifier

__all__ = ["ImageDataLoader", "ImageDataLoaders", "image_stats", "ClassificationInterpretation",
           "AdaptiveConcatPool2d", "ConvLayer", "NormType", "apply_init", "create_head", "init_cnn", "create_body",
           "create_vision_model", "cnn_learner", "default_split", "has_pool_type", "imagenet_stats", "model_meta",
           "num_features_model", "vision_learner", "ResNet", "XResNet", "resnet18", "resnet34", "resnet50",
           "simple_cnn", "xresnet18", "xresnet34", "xresnet50", "FrameClassifier"]

# ---- augmentation (nnx.vision.augment) ----
from .augment import (  # noqa: E402
    AffineCoordTfm,
    BatchAugment,
    Brightness,
    Contrast,
    CropPad,
    Dihedral,
    Flip,
    LightingTfm,
    RandomResizedCropGPU,
    RandTransform,
    Rotate,
    Warp,
    Zoom,
    aug_transforms,
    augment_batch,
)

__all__ += ["RandTransform", "AffineCoordTfm", "LightingTfm", "Flip", "Dihedral", "Rotate", "Zoom", "Warp",
            "RandomResizedCropGPU", "CropPad", "Brightness", "Contrast", "aug_transforms", "augment_batch",
            "BatchAugment"]

# ---- fastai's hook helpers (nnx.learner.hook), which fastai.vision.all exports too ----
from ..learner.hook import Hook, Hooks, dummy_eval, hook_output, hook_outputs, model_sizes  # noqa: E402

__all__ += ["Hook", "Hooks", "hook_output", "hook_outputs", "dummy_eval", "model_sizes"]

# ---- U-Net (nnx.vision.unet) and its layers (nnx.vision.layers) ----
from .layers import MergeLayer, PixelShuffle_ICNR, ResizeToOrig, SequentialEx, icnr_init  # noqa: E402
from .unet import DynamicUnet, UnetBlock, create_unet_model, unet_learner  # noqa: E402

__all__ += ["DynamicUnet", "UnetBlock", "create_unet_model", "unet_learner", "PixelShuffle_ICNR", "icnr_init",
            "SequentialEx", "MergeLayer", "ResizeToOrig"]

# ---- image restoration (nnx.vision.restoration) ----
from .restoration import (  # noqa: E402
    FeatureLoss,
    LossMetrics,
    add_noise,
    crappify,
    downscale_upscale,
    gram_matrix,
    jpeg_blocking,
)

__all__ += ["add_noise", "downscale_upscale", "jpeg_blocking", "crappify", "gram_matrix", "FeatureLoss", "LossMetrics"]

# ---- segmentation (nnx.vision.segmentation) ----
from .segmentation import SegmentationDataLoader, SegmentationDataLoaders  # noqa: E402

__all__ += ["SegmentationDataLoader", "SegmentationDataLoaders"]
