"""Models trained on adgen's gradients: linear models (`linear`) and matrix
completion (`matrix_completion`), solved by accelerated proximal gradient
(`solver`); generative models: GANs and WGANs (`gan`), the minimum Kantorovich
estimator (`kantorovich`), autoencoders and the VAE (`autoencoder`), imported
as submodules."""

from adgen.runtime.models.linear import lasso, linear_svm, logistic_regression, ridge
from adgen.runtime.models.matrix_completion import matrix_completion
from adgen.runtime.models.solver import FitResult, proximal_gradient

__all__ = ["ridge", "lasso", "logistic_regression", "linear_svm", "matrix_completion",
           "FitResult", "proximal_gradient"]
