"""Running a table's grid of trainings elsewhere than in the notebook's process: a local single-node SLURM for tests
(:mod:`fer_lib.cluster.local`)."""
