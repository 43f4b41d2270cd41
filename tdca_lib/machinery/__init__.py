"""The companion's machinery: files, data sets, checkpoints, profiles, figures and tables, claims
and their verdicts, plots, the notebooks' regeneration and command lines."""
