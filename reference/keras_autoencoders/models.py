"""The reference autoencoders of Problem 2 (b) and (c), as the starter builds them (Keras functional API):
784-32-784 (shallow), 784-128-32-128-784 (deep, and the denoising model), ReLU inside, sigmoid outputs,
binary cross-entropy and Adam. Built here to calibrate the grader's bars; counted in tests."""

from __future__ import annotations


def shallow(code_size: int = 32, input_size: int = 784):
    from keras.layers import Dense, Input
    from keras.models import Model

    input_img = Input(shape=(input_size,))
    code = Dense(code_size, activation="relu")(input_img)
    output_img = Dense(input_size, activation="sigmoid")(code)
    model = Model(input_img, output_img)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def deep(hidden_size: int = 128, code_size: int = 32, input_size: int = 784):
    from keras.layers import Dense, Input
    from keras.models import Model

    input_img = Input(shape=(input_size,))
    hidden_1 = Dense(hidden_size, activation="relu")(input_img)
    code = Dense(code_size, activation="relu")(hidden_1)
    hidden_2 = Dense(hidden_size, activation="relu")(code)
    output_img = Dense(input_size, activation="sigmoid")(hidden_2)
    model = Model(input_img, output_img)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def parameters(widths: list[int]) -> int:
    """Weights and biases of Dense layers of these widths, input first: sum of (w_in + 1) w_out."""
    return sum((w_in + 1) * w_out for w_in, w_out in zip(widths, widths[1:], strict=False))
