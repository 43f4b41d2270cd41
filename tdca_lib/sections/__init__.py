"""Each notebook's section: the tables, claims and figure data it shows, built from the
experiments."""
