"""Reinforcement learning with a recurrent TDCA network (paper Table S5, notebook 05).

The agent (bottom-up network) is a small MLP policy. It plays one episode; the recurrent TDCA
network reads the episode's states, actions and rewards step by step, and at the episode's end
emits one credit per agent parameter; the credits update the agent through the inner optimiser.
After ``updates`` such episodes the agent's return on a fresh episode is the member's fitness,
and PGPE (sigma 0.1, Adam lr 0.1: paper) evolves the TDCA network. No loss, no backprop, no
value function: the TDCA network alone decides how the agent changes.

    python -m tdca_lib.rl --profile quick --task CartPole-v1   # evolve (resumable), ship
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .inner_loop import clip_per_member
from .profiles import PROFILE_NAMES, Profiles, not_evolved
from .rl_envs import PopulationEnv, make
from .tdca_network import PopulationGRU, PopulationMLP

# Per task, our choices: the agent's hidden width, the scale at which the TDCA network sees
# rewards (so every task's rewards reach it at order 1), and the customary "solved" return.
TASKS = {
    "CartPole-v1": dict(agent_hidden=16, reward_scale=1.0, solved=475.0),
    "Pendulum-v1": dict(agent_hidden=16, reward_scale=1 / 16, solved=-200.0),
    "BipedalWalker-v3": dict(agent_hidden=32, reward_scale=1 / 10, solved=300.0),
}


@dataclass(frozen=True)
class RLSettings:
    """Every knob of one RL run; defaults are the ``quick`` profile for CartPole-v1."""

    task: str = "CartPole-v1"
    agent_hidden: int = 16  # agent: obs-16-actions, tanh (our choice; TASKS per task)
    reward_scale: float = 1.0  # rewards times this reach the TDCA network (our choice)
    tdca_hidden: int = 32  # GRU units of the TDCA network (our choice)
    updates: int = 50  # agent updates, one episode each (paper: 200)
    inner_optimizer: str = "adam"  # "adam": Adam + per-member clip (as supervised); "sgd"
    inner_lr: float = 0.01  # our choice
    max_norm: float = 1.0  # per-agent clip of each update (our choice)
    fitness_episodes: int = 1  # fresh episodes after the last update, averaged (paper: 1)
    seed: int = 0  # agent init, PGPE's sampler, the TDCA network's initial centre, episodes
    population: int = 32  # PGPE members a generation (our choice)
    sigma: float = 0.1  # PGPE exploration std (paper)
    center_lr: float = 0.1  # Adam on PGPE's centre (paper)
    generations: int = 50  # paper: 3000
    checkpoint_every: int = not_evolved(10)
    load_evolved_from: str | None = not_evolved(None)
    seeds: int = not_evolved(5)  # agents trained by the evolved network, for the tables

    def __post_init__(self):  # refuse a bad setting now, not an hour into a run
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid: {', '.join(TASKS)}")
        if self.inner_optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown inner optimizer {self.inner_optimizer!r}; valid: adam, sgd")


PROFILES = Profiles(
    RLSettings,
    smoke=dict(load_evolved_from="quick"),
    quick=dict(load_evolved_from="quick"),
    paper=dict(load_evolved_from="paper", updates=200, generations=3000, population=128),
)


def settings_for(profile: str, task: str, **overrides) -> RLSettings:
    """The settings of ``task`` under ``profile``, with the task's own agent and reward scale."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    fields = {k: v for k, v in TASKS[task].items() if k != "solved"}  # solved: for the claims
    return PROFILES.get(profile, task=task, **{**fields, **overrides})


# --- The agent ---------------------------------------------------------------------------------


def agent_network(settings: RLSettings, env: PopulationEnv) -> PopulationMLP:
    return PopulationMLP([env.obs_dim, settings.agent_hidden, env.action_dim])


def act(agent: PopulationMLP, theta: torch.Tensor, obs: torch.Tensor,
        env: PopulationEnv) -> torch.Tensor:
    """Deterministic actions of every member's agent: ``[P]`` (argmax of the logits) for a
    discrete task, ``[P, A]`` in the task's bounds (tanh) for a continuous one."""
    out = agent(theta, obs[:, None])[:, 0]
    return out.argmax(-1) if env.discrete else env.action_bound * torch.tanh(out)


def encode(action: torch.Tensor, env: PopulationEnv) -> torch.Tensor:
    """How the TDCA network sees an action: one-hot, or scaled to [-1, 1]."""
    if env.discrete:
        return F.one_hot(action, env.action_dim).float()
    return action / env.action_bound


def tdca_network(settings: RLSettings, env: PopulationEnv, agent: PopulationMLP) -> PopulationGRU:
    """Reads (state, action, reward) a step; emits one credit per agent parameter."""
    return PopulationGRU(env.obs_dim + env.action_dim + 1, settings.tdca_hidden, agent.num_params)


@torch.no_grad()
def play(env: PopulationEnv, agent: PopulationMLP, theta: torch.Tensor, seed: int,
         tdca: PopulationGRU | None = None, weights: list[torch.Tensor] | None = None,
         reward_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One episode for every member (member p from ``seed + p``); returns ``(returns [P], the
    TDCA network's final state [P, H] or None)``. A member's TDCA state stops at its episode's
    end."""
    obs = env.reset(seed)
    total = torch.zeros(env.population, device=obs.device)
    done = torch.zeros(env.population, dtype=torch.bool, device=obs.device)
    state = None if tdca is None else tdca.start(env.population, obs.device)
    while not done.all():
        action = act(agent, theta, obs, env)
        next_obs, reward, next_done = env.step(action)
        if tdca is not None:
            seen = torch.cat([obs, encode(action, env), reward[:, None] * reward_scale], -1)
            state = torch.where(done[:, None], state, tdca.step(weights, state, seen))
        total += reward
        obs, done = next_obs, next_done
    return total, state


def episode_seed(settings: RLSettings, episode: int, population: int) -> int:
    """Episodes never share a start: update u's episode starts members at seed (u * P + p)."""
    return (settings.seed * 100_000 + episode) * population


def start_agents(settings: RLSettings, env: PopulationEnv, members: int,
                 distinct: bool = False) -> torch.Tensor:
    """``[P, D]`` initial agents: all the same (seeded by ``settings.seed``: evolution compares
    TDCA networks on equal terms) or, with ``distinct``, member p's seeded by 1000 + p (the
    agents we report, never the one evolution saw)."""
    agent = agent_network(settings, env)
    seeds = [1000 + p for p in range(members)] if distinct else [settings.seed] * members
    return torch.stack([agent.init(torch.Generator().manual_seed(s)) for s in seeds])


def train_agents(settings: RLSettings, env: PopulationEnv, beta: torch.Tensor,
                 on_update: Callable[[int, torch.Tensor], None] | None = None,
                 first_episode: int = 0, start: torch.Tensor | None = None) -> torch.Tensor:
    """The inner loop: ``settings.updates`` episodes, each followed by an update from the
    credits of member p's TDCA network ``beta[p]``; returns the agents ``[P, D]``. Agents start
    at ``start [P, D]`` (default: :func:`start_agents`, all alike). ``on_update(u, returns
    [P])`` sees each training episode's returns."""
    agent = agent_network(settings, env)
    tdca = tdca_network(settings, env, agent)
    weights = tdca.unflatten(beta)
    if start is None:
        start = start_agents(settings, env, len(beta))
    theta = start.to(beta.device).clone()
    optimizer = (torch.optim.Adam if settings.inner_optimizer == "adam" else torch.optim.SGD)(
        [theta], lr=settings.inner_lr)
    for u in range(settings.updates):
        seed = episode_seed(settings, first_episode + u, len(beta))
        returns, state = play(env, agent, theta, seed, tdca, weights, settings.reward_scale)
        if on_update:
            on_update(u, returns)
        # The credits are the change the TDCA network asks for: descend their negative.
        theta.grad = -clip_per_member(tdca.readout(weights, state), settings.max_norm)
        optimizer.step()
    return theta


def fitness_function(settings: RLSettings):
    """Fitness of each TDCA member: the return of its trained agent on
    ``settings.fitness_episodes`` fresh episodes (mean); the mean training return rides along.
    One population environment per batch size (PGPE's batch carries its centre too)."""
    envs: dict[int, PopulationEnv] = {}

    def fitness(beta: torch.Tensor, generation: int):
        if len(beta) not in envs:
            envs[len(beta)] = make(settings.task, len(beta), device=beta.device)
        env = envs[len(beta)]
        agent = agent_network(settings, env)
        seen = []
        theta = train_agents(settings, env, beta, on_update=lambda u, r: seen.append(r))
        final = torch.stack([
            play(env, agent, theta, episode_seed(settings, settings.updates + k, len(beta)))[0]
            for k in range(settings.fitness_episodes)]).mean(0)
        return final, {"train_return": torch.stack(seen).mean(0)}

    return fitness


def shipped_tdca(settings: RLSettings) -> tuple[torch.Tensor, list[dict], dict]:
    """Load the TDCA network ``settings.load_evolved_from`` shipped for ``settings.task``:
    (centre ``[1, D]``, evolution log, manifest); CheckpointError if missing."""
    from .checkpoints import load_evolved
    from .profiles import evolved_settings

    if settings.load_evolved_from is None:
        raise ValueError("settings.load_evolved_from must name the profile whose network to load")
    center, log, manifest = load_evolved(
        f"{network_name(settings)}-{settings.load_evolved_from}",
        expect=evolved_settings(settings),
        regenerate=regenerate_command(settings, settings.load_evolved_from))
    return center[None], log, manifest


EVAL_EPISODE = 1_000_000  # reported runs' episodes start here, away from evolution's


def evaluate_tdca(settings: RLSettings, beta: torch.Tensor, seeds: int,
                  eval_episodes: int = 10) -> dict[str, torch.Tensor]:
    """Train ``seeds`` fresh agents (distinct inits, unseen episodes) with the TDCA network
    ``beta [1, D]``; returns their training curves ``[updates, seeds]`` and the final agents'
    mean return over ``eval_episodes`` further episodes, ``[seeds]``."""
    env = make(settings.task, seeds, device=beta.device)
    curve = []
    theta = train_agents(settings, env, beta.expand(seeds, -1),
                         on_update=lambda u, r: curve.append(r), first_episode=EVAL_EPISODE,
                         start=start_agents(settings, env, seeds, distinct=True))
    agent = agent_network(settings, env)
    final = torch.stack([
        play(env, agent, theta, episode_seed(settings, EVAL_EPISODE + settings.updates + k,
                                             seeds))[0]
        for k in range(eval_episodes)]).mean(0)
    env.close()
    return {"curve": torch.stack(curve), "final": final}


def main(argv: list[str] | None = None) -> None:
    from .checkpoints import annotate
    from .outer_loop import evolve_or_load
    from .pgpe import PGPE
    from .supervised import parse_overrides

    parser = argparse.ArgumentParser(description="Evolve a recurrent TDCA network for an RL "
                                     "task and ship it to data/checkpoints/.")
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="quick")
    parser.add_argument("--task", choices=list(TASKS), default="CartPole-v1")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    try:
        settings = settings_for(args.profile, args.task, load_evolved_from=None,
                                **parse_overrides(args.set))
    except ValueError as err:
        parser.error(str(err))
    env = make(settings.task, 1)  # for the sizes
    agent = agent_network(settings, env)
    tdca = tdca_network(settings, env, agent)
    print(f"{settings.task}: agent {agent}, TDCA network {tdca}")

    def make_pgpe() -> PGPE:
        start = tdca.init(torch.Generator().manual_seed(settings.seed))
        return PGPE(start, population=settings.population, sigma=settings.sigma,
                    center_lr=settings.center_lr, seed=settings.seed)

    center, log, manifest = evolve_or_load(
        network_name(settings), settings, profile=args.profile, experiment="05_rl",
        fitness=fitness_function(settings), make_pgpe=make_pgpe,
        regenerate=regenerate_command(settings, args.profile))
    # How well the shipped network trains fresh agents (the seeds notebook 05 uses too).
    result = evaluate_tdca(settings, center[None], settings.seeds)
    final = result["final"]
    manifest = annotate(manifest["name"], evaluation={
        "setting": f"{settings.updates} updates, agents seeded 1000..{999 + settings.seeds}, "
                   f"final return = mean of 10 fresh episodes",
        "final_return": f"{final.mean():.1f} ± {final.std():.1f}"})
    print(f"shipped {manifest['name']}: {len(log)} generations; {manifest['evaluation']}")


def network_name(settings: RLSettings) -> str:
    return f"rl-{settings.task}-{settings.updates}updates"


def regenerate_command(settings: RLSettings, profile: str = "quick") -> str:
    return f"python -m tdca_lib.rl --profile {profile} --task {settings.task}"


if __name__ == "__main__":
    main()
