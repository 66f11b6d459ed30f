"""nnx.nn: modules, parameters, initialisers and the functional API, with PyTorch's names."""
