"""The expression networks: compact CNNs sized for training on two CPU cores.

Measured here (2 cores, batch 128): this layout trains at about 270 faces a second. Doubling the first block's
convolutions or widening the late blocks cost 25-35% of that speed, which buys fewer epochs in the same hours,
so the budget goes into epochs and augmentation instead.
"""

import keras
from keras import layers

from emotag.emotions import CROP_SIZE, EMOTIONS

# (filters, convolutions) per block; each block ends in a 2x2 max-pool: 48 -> 24 -> 12 -> 6 -> 3.
BLOCKS = ((32, 1), (64, 2), (128, 2), (256, 2))


def build_model(architecture: str = "vgg") -> keras.Model:
    """Return an uncompiled network of `architecture` (one of `ARCHITECTURES`) for (N, 48, 48, 1) crops."""
    return ARCHITECTURES[architecture]()


def build_vgg(blocks: tuple[tuple[int, int], ...] = BLOCKS, dropout: float = 0.4) -> keras.Model:
    """Plain stacked convolutions: map (N, 48, 48, 1) standardised crops to (N, 7) logits."""
    inputs = keras.Input((CROP_SIZE, CROP_SIZE, 1), name="face")
    x = inputs
    for filters, convolutions in blocks:
        for _ in range(convolutions):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(len(EMOTIONS), name="logits")(x)
    return keras.Model(inputs, logits, name="emotag_expression")


# (filters) per residual stage, each after a 2x2 max-pool: 48 -> 24 -> 12 -> 6.
STAGES = (64, 128, 256)


def build_resnet(stages: tuple[int, ...] = STAGES, dropout: float = 0.4) -> keras.Model:
    """Residual stages after a 5x5 stem: another way of seeing a face, so that it errs apart from the VGG.

    Its last stage reads a 6x6 map (the VGG's, 3x3) and every stage adds its input back through a 1x1
    projection. Measured here it trains about as fast as the VGG, with a similar parameter count.
    """
    inputs = keras.Input((CROP_SIZE, CROP_SIZE, 1), name="face")
    x = layers.Conv2D(32, 5, padding="same", use_bias=False, kernel_initializer="he_normal")(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for filters in stages:
        x = layers.MaxPooling2D()(x)
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(x))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal")(y)
        x = layers.ReLU()(layers.Add()([shortcut, layers.BatchNormalization()(y)]))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(len(EMOTIONS), name="logits")(x)
    return keras.Model(inputs, logits, name="emotag_expression_resnet")


ARCHITECTURES = {"vgg": build_vgg, "resnet": build_resnet}
"""What `--architecture` chooses from; "vgg" is every network up to 1.5.0."""


def ensemble(members: list[keras.Model]) -> keras.Model:
    """One model whose logits are the mean of `members`' logits: networks trained apart err apart."""
    inputs = keras.Input((CROP_SIZE, CROP_SIZE, 1), name="face")
    outputs = [
        keras.Model(member.inputs[0], member.outputs[0], name=f"member_{k + 1}")(inputs)
        for k, member in enumerate(members)
    ]
    return keras.Model(inputs, layers.Average(name="logits")(outputs), name="emotag_expression_ensemble")


def augmenter(seed: int) -> keras.Sequential:
    """Augmentation that suits 48x48 grey faces: mirror, small tilt, zoom and shift, and a patch blanked out.

    Exposure and contrast need no augmentation: `prepare_crops` standardises them away.
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(12 / 360, fill_mode="reflect", seed=seed + 1),
            layers.RandomZoom((-0.12, 0.12), fill_mode="reflect", seed=seed + 2),
            layers.RandomTranslation(0.08, 0.08, fill_mode="reflect", seed=seed + 3),
        ],
        name="augment",
    )
