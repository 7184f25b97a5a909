//! Data sets: IDX files (MNIST, Fashion-MNIST), batching, shuffling, normalisation.
