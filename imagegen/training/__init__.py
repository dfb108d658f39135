"""Django glue for training: the TrainingRun record, collecting the catalogue from the
registered sources through storage, running the engine's trainers inline or as jobs on the
training queue, generating images into variants, and the admin for runs.

The training itself is in ``imagegen.engine.training`` (pure torch)."""
