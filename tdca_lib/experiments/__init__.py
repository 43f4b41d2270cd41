"""The paper's experiments, one module each: what is evolved, on what, and how it is measured."""
