"""The paper's method: PGPE and the outer loop, the inner loop's Hebbian credit rule and its
diffusion, the bottom-up and TDCA networks batched over a population, the yardstick rules, and
sharding over processes."""
