"""Where a table's trainings run: the executors (:mod:`fer_lib.cluster.spec`; the jobs themselves are
:mod:`fer_lib.protocols.jobs`), and a real single-node SLURM for tests and trials (:mod:`fer_lib.cluster.local`)."""
