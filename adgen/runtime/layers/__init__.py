"""Layers as pure functions of (parameters, input) in adgen's subset, and their
initializers (Python functions taking a numpy.random.Generator).

- `dense`: affine layer x @ W + b (`adgen.runtime.layers.dense`);
- `conv1d`, `conv2d`, `conv_transpose2d` and their output-shape checks
  (`adgen.runtime.layers.conv`);
- `max_pool2d`, `avg_pool2d` (`adgen.runtime.layers.pooling`).

Tensors of images are (batch, channels, height, width), as in PyTorch.
docs/RUNTIME.md, section "Layers", states the conventions. The other modules
of this package (recurrent, normalization, dropout) are imported by their
own paths.
"""

from adgen.runtime.layers.conv import (conv1d, conv1d_output_size, conv2d, conv2d_init,
                                       conv2d_output_shape, conv_transpose2d,
                                       conv_transpose2d_init, conv_transpose2d_output_shape)
from adgen.runtime.layers.dense import dense, dense_init
from adgen.runtime.layers.pooling import avg_pool2d, max_pool2d, pool2d_output_shape

__all__ = ["dense", "dense_init", "conv1d", "conv1d_output_size", "conv2d", "conv2d_init",
           "conv2d_output_shape", "conv_transpose2d", "conv_transpose2d_init",
           "conv_transpose2d_output_shape", "max_pool2d", "avg_pool2d", "pool2d_output_shape"]
