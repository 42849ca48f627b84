"""The synthetic assignment's analytic answer: the output size of a convolution, by the formula."""


def conv_output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    return (size + 2 * padding - kernel) // stride + 1
