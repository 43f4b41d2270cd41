"""Each notebook's section: the tables, claims and figure data it shows, built from the
experiments; and the explorers (widgets) of notebooks 01 and 02."""
