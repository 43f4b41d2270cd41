"""Reinforcement learning with a recurrent TDCA network (paper Table S5, notebook 05).

The agent (bottom-up network) is a small MLP policy. It plays one episode; the recurrent TDCA
network reads the episode's states, actions and rewards step by step, and at the episode's end
emits one credit per agent parameter; the credits update the agent through the inner optimiser.
After ``updates`` such episodes the agent's return on a fresh episode is the member's fitness,
and PGPE (sigma 0.1, Adam lr 0.1: paper) evolves the TDCA network. No loss, no backprop, no
value function: the TDCA network alone decides how the agent changes.

    # evolve (resumable) and ship:
    python -m tdca_lib.experiments.rl --profile quick --task CartPole-v1
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..machinery.commands import command
from ..machinery.profiles import Profiles, evolution_command, not_evolved
from ..method import bottom_up
from ..method.distributed import Share
from ..method.inner_loop import OPTIMIZERS, train
from ..method.outer_loop import Experiment, RunSettings, evolve_or_load, load_shipped
from ..method.population import PopulationMLP
from ..method.recurrent_tdca import PopulationGRU
from . import rl_envs
from .metaworld_envs import MAX_STEPS, TASK_TYPES, MetaWorldPopulation
from .rl_envs import PopulationEnv

# Every task's numbers, side by side (our choices, stated beside the paper's 200 updates and
# 3000 generations): the agent's hidden width, the scale at which the TDCA network sees rewards
# (so every task's rewards reach it at order 1), the customary "solved" return, and the scales
# this machine evolves and ships for notebooks 05 and 06 (the quick profile; smoke loads its
# networks): agent updates -> what differs from RLSettings' defaults. A task's first scale is
# what ``--task T`` evolves; ``--updates U`` picks another. The paper profile is PROFILES'.
# - At the paper's 200 updates fitness is the mean of 2 episodes (one CartPole episode's return
#   is noisy enough to hide a generation's differences). CartPole-v0 stopped at 130
#   generations: its centre had held the cap of 200 for the last 30, where every member ties
#   and PGPE learns nothing more. Pendulum-v1 at 200 updates rose from -1420 to about -1000 in
#   its first 60 generations and then held (~20-40 s a generation here).
# - The 50-update networks came first (1.3-1.5 s a generation); BipedalWalker-v3 episodes run up
#   to 1600 Box2D steps at ~8000 member-steps/s, so it runs smaller (70-200 s a generation).
# - Meta-World (notebook 06: three task types at once, an agent per variant) steps at about 5000
#   steps/s here, and a generation plays population x 9 variants x (updates + 1) episodes, so
#   quick shortens episodes to 150 steps (its scripted policies succeed within about 75). At
#   the paper's centre step (0.1) the population's mean return fell from 45.6 to 6.0 over the
#   first 8 generations: 16 members give too noisy a direction for Adam's steps of 0.1 on every
#   parameter, hence 0.02.
TASKS = {
    "CartPole-v0": dict(agent_hidden=16, reward_scale=1.0, solved=195.0,
                        quick={200: dict(fitness_episodes=2, generations=130)}),
    "CartPole-v1": dict(agent_hidden=16, reward_scale=1.0, solved=475.0,
                        quick={50: dict()}),
    "Pendulum-v1": dict(agent_hidden=16, reward_scale=1 / 16, solved=-200.0,
                        quick={200: dict(fitness_episodes=2, generations=150), 50: dict()}),
    # quick scores BipedalWalker's agents on 5 episodes (not 10): an episode is up to 1600 steps
    "BipedalWalker-v3": dict(agent_hidden=32, reward_scale=1 / 10, solved=300.0,
                             quick={10: dict(population=16, generations=30, eval_episodes=5)}),
    # quick measures 2 agent sets (not 5) on 5 episodes (not 10): a Meta-World row costs about
    # 1 ms a step here
    "Meta-World": dict(agent_hidden=32, reward_scale=0.1, solved=None,  # success rates instead
                       quick={10: dict(episode_steps=150, population=16, center_lr=0.02,
                                       generations=40, seeds=2, eval_episodes=5)}),
}
METAWORLD = "Meta-World"  # three robot-arm task types at once (notebook 06, metaworld_envs)


@dataclass(frozen=True)
class RLSettings(RunSettings):
    """Every knob of one RL run; defaults are the ``quick`` profile for CartPole-v1. The run's
    (PGPE's, the seed's, how long) are :class:`~tdca_lib.method.outer_loop.RunSettings`', whose
    numbers are this experiment's: PGPE's sigma 0.1 and Adam at 0.1 (paper), 32 members a
    generation (our choice), 600 generations (paper: 3000). The seed also draws the agents'
    inits and the episodes."""

    task: str = "CartPole-v1"  # a key of TASKS
    agent_hidden: int = 16  # agent: obs-16-actions, tanh (our choice; TASKS per task)
    reward_scale: float = 1.0  # rewards times this reach the TDCA network (our choice)
    tdca_hidden: int = 32  # GRU units of the TDCA network (our choice)
    updates: int = 50  # agent updates, one episode each (paper: 200)
    episode_steps: int | None = None  # Meta-World's episode cap (None: its 500); others: theirs
    inner_optimizer: str = "adam"  # "adam": Adam + per-member clip (as supervised); "sgd"
    inner_lr: float = 0.01  # our choice
    max_norm: float = 1.0  # per-agent clip of each update (our choice)
    fitness_episodes: int = 1  # fresh episodes after the last update, averaged (paper: 1)
    # New agent init and episode starts every generation (shared by all members within one),
    # so the TDCA network must train any agent, not the one agent it was evolved on (our
    # choice; False: the same init and episodes in every generation).
    fresh_each_generation: bool = True
    seeds: int = not_evolved(5)  # agents trained by the evolved network, for the tables
    eval_episodes: int = not_evolved(10)  # episodes a final agent is scored on, for the tables
    # The notebooks' longest probe past the evolved horizon, in multiples of ``updates``:
    # 2 (quick: each multiple costs as much again), 4 under the paper profile.
    horizon: int = not_evolved(2)

    def __post_init__(self):  # refuse a bad setting now, not an hour into a run
        super().__post_init__()
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid: {', '.join(TASKS)}")
        if self.inner_optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown inner optimizer {self.inner_optimizer!r}; valid: "
                             f"{', '.join(OPTIMIZERS)}")
        if self.episode_steps is not None and (
                self.task != METAWORLD or not 1 <= self.episode_steps <= MAX_STEPS):
            raise ValueError(f"episode_steps caps Meta-World's episodes, in [1, {MAX_STEPS}]; "
                             f"got {self.episode_steps} for {self.task}")


PROFILES = Profiles(
    RLSettings,
    smoke=dict(load_evolved_from="quick"),
    quick=dict(load_evolved_from="quick"),
    paper=dict(load_evolved_from="paper", updates=200, generations=3000, population=128,
               horizon=4),
)


def settings_for(profile: str, task: str, updates: int | None = None,
                 **overrides) -> RLSettings:
    """The settings of ``task`` under ``profile``, with the task's own agent and reward scale;
    below the paper's profile at the task's quick scale for ``updates`` (its first scale when
    ``updates`` is None or not one of its scales, then with ``updates``)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    fields = {k: v for k, v in TASKS[task].items() if k not in ("solved", "quick")}
    if profile != "paper":
        scales = TASKS[task]["quick"]
        updates = updates or next(iter(scales))
        fields |= scales.get(updates, next(iter(scales.values()))) | {"updates": updates}
    elif updates is not None:
        fields["updates"] = updates
    return PROFILES.get(profile, task=task, **{**fields, **overrides})


def make_env(settings: RLSettings, members: int, device: torch.device | str = "cpu",
             split: str = "train") -> PopulationEnv:
    """The population environment for ``members`` TDCA networks: one row each, or for
    Meta-World one per task variant of ``split`` (member-major)."""
    if settings.task == METAWORLD:
        return MetaWorldPopulation(members, split, TASK_TYPES,
                                   settings.episode_steps or MAX_STEPS, device)
    return rl_envs.make(settings.task, members, device=device)


def network_name(settings: RLSettings) -> str:
    """The shipped TDCA network's name (without the profile)."""
    if settings.task == METAWORLD:
        return f"metaworld-{settings.updates}updates-{settings.episode_steps or MAX_STEPS}steps"
    return f"rl-{settings.task}-{settings.updates}updates"


def regenerate_command(settings: RLSettings, profile: str = "quick") -> str:
    """The command that evolves and ships this network."""
    return (f"python -m tdca_lib.experiments.rl --profile {profile} --task {settings.task} "
            f"--updates {settings.updates}")


def agent_steps(settings: RLSettings) -> int:
    """Environment steps one Meta-World agent plays in the inner loop and its fitness episodes:
    the budget a per-variant baseline gets (equal experience)."""
    return (settings.updates + settings.fitness_episodes) * (settings.episode_steps or MAX_STEPS)


# --- The agent ---------------------------------------------------------------------------------


def agent_network(settings: RLSettings, env: PopulationEnv) -> PopulationMLP:
    """The bottom-up network of ``env``'s task: ``obs-agent_hidden-actions``."""
    return bottom_up.agent(env.obs_dim, settings.agent_hidden, env.action_dim)


def act(agent: PopulationMLP, theta: torch.Tensor, obs: torch.Tensor,
        env: PopulationEnv, layers: list | None = None) -> torch.Tensor:
    """Deterministic actions of every member's agent: ``[P]`` (argmax of the logits) for a
    discrete task, ``[P, A]`` in the task's bounds (tanh) for a continuous one. ``layers``:
    ``agent.unflatten(theta)``, when the caller has it already."""
    inputs = obs[:, None]
    out = (agent(theta, inputs) if layers is None else agent.apply(layers, inputs))[:, 0]
    return out.argmax(-1) if env.discrete else env.action_bound * torch.tanh(out)


def encode(action: torch.Tensor, env: PopulationEnv,
           one_hot: torch.Tensor | None = None) -> torch.Tensor:
    """How the TDCA network sees an action: one-hot, or scaled to [-1, 1]. ``one_hot``: the
    identity ``[action_dim, action_dim]``, whose rows are the one-hot codes (an index is cheaper
    than F.one_hot, which checks the actions' range)."""
    if env.discrete:
        return F.one_hot(action, env.action_dim).float() if one_hot is None else one_hot[action]
    return action / env.action_bound


def tdca_network(settings: RLSettings, env: PopulationEnv, agent: PopulationMLP) -> PopulationGRU:
    """Reads (state, action, reward, and the env's context, e.g. a task id) a step; emits one
    credit per agent parameter."""
    return PopulationGRU(env.obs_dim + env.action_dim + 1 + env.context_dim,
                         settings.tdca_hidden, agent.num_params)


@torch.no_grad()
def play(env: PopulationEnv, agent: PopulationMLP, theta: torch.Tensor, seed: int,
         tdca: PopulationGRU | None = None, weights: list[torch.Tensor] | None = None,
         reward_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One episode for every member (member p from ``seed + p``); returns ``(returns [P], the
    TDCA network's final state [P, H] or None)``. A member's TDCA state stops at its episode's
    end."""
    obs = env.reset(seed)
    context = [] if env.context() is None else [env.context().to(obs.device)]
    total = torch.zeros(env.population, device=obs.device)
    done = torch.zeros(env.population, dtype=torch.bool, device=obs.device)
    state = None if tdca is None else tdca.start(env.population, obs.device)
    # Per episode, not per step (a torch call costs 5-10 us, as long as the env's whole step)
    layers = agent.unflatten(theta)
    one_hot = torch.eye(env.action_dim, device=obs.device) if env.discrete else None
    while env.live:  # some member still runs (not done.all(), without a tensor operation)
        running = env.live
        action = act(agent, theta, obs, env, layers)
        next_obs, reward, next_done = env.step(action)
        if tdca is not None:
            scaled = reward[:, None] if reward_scale == 1.0 else reward[:, None] * reward_scale
            seen = torch.cat([obs, encode(action, env, one_hot), scaled, *context], -1)
            state_next = tdca.step(weights, state, seen)
            # hold the state of members done before this step (none while all still run)
            state = (state_next if running == env.population
                     else torch.where(done[:, None], state, state_next))
        total += reward
        obs, done = next_obs, next_done
    return total, state


def episode_seed(settings: RLSettings, episode: int, population: int) -> int:
    """Episodes never share a start: update u's episode starts members at seed (u * P + p)."""
    return (settings.seed * 100_000 + episode) * population


def first_row_seed(settings: RLSettings, episode: int, env: PopulationEnv,
                   share: Share | None = None) -> int:
    """The seed of ``env``'s first row in ``episode`` (row r starts from it + r). With a
    ``share`` of a generation's batch (under torchrun), ``env`` holds only those members' rows,
    and they start where they would in the environment of the whole batch."""
    if share is None:
        return episode_seed(settings, episode, env.population)
    rows_per_member = env.population // len(share)
    return (episode_seed(settings, episode, share.total * rows_per_member)
            + share.start * rows_per_member)


EVOLUTION_INIT = 10_000  # evolution's agent inits are seeded from here, the reported from 1000


def start_agents(settings: RLSettings, env: PopulationEnv, members: int,
                 distinct: bool = False, generation: int = 0) -> torch.Tensor:
    """``[P, D]`` initial agents: all the same, as evolution uses them (so it compares TDCA
    networks on equal terms; seeded by the generation too with ``fresh_each_generation``), or,
    with ``distinct``, member p's seeded by 1000 + p (the agents we report, never one
    evolution saw)."""
    agent = agent_network(settings, env)
    shared = EVOLUTION_INIT + settings.seed * 100_003 + (
        generation if settings.fresh_each_generation else 0)
    seeds = [1000 + p for p in range(members)] if distinct else [shared] * members
    return torch.stack([agent.init(torch.Generator().manual_seed(s)) for s in seeds])


def train_agents(settings: RLSettings, env: PopulationEnv, beta: torch.Tensor,
                 on_update: Callable[[int, torch.Tensor], None] | None = None,
                 first_episode: int = 0, start: torch.Tensor | None = None,
                 share: Share | None = None,
                 after_update: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """The inner loop: ``settings.updates`` episodes, each followed by an update from the
    credits of member p's TDCA network ``beta[p]``; returns the agents, one per row of ``env``
    ``[R, D]``. The env may hold several rows (agents) per member (Meta-World: one per task
    variant, member-major); member p's network updates all of its rows. Agents start at
    ``start [R, D]`` (default: :func:`start_agents`, all alike). ``on_update(u, returns [R])``
    sees each training episode's returns; ``after_update(n, theta [R, D])`` the agents after
    their n-th update. ``share``: which rows of a generation's batch ``beta`` is, for the
    episode seeds (:func:`first_row_seed`)."""
    agent = agent_network(settings, env)
    tdca = tdca_network(settings, env, agent)
    rows = env.population
    if rows % len(beta):
        raise ValueError(f"{rows} environment rows cannot be shared by {len(beta)} members")
    weights = tdca.unflatten(beta.repeat_interleave(rows // len(beta), 0))
    if start is None:
        start = start_agents(settings, env, rows)
    updates = iter(range(settings.updates))

    def direction(theta: torch.Tensor) -> torch.Tensor:
        """Play update u's episode; the credits are the change the TDCA network asks for, so
        the optimiser descends their negative."""
        u = next(updates)
        seed = first_row_seed(settings, first_episode + u, env, share)
        returns, state = play(env, agent, theta, seed, tdca, weights, settings.reward_scale)
        if on_update:
            on_update(u, returns)
        return -tdca.readout(weights, state)

    return train(start.to(beta.device), direction, settings.updates, settings.inner_lr,
                 settings.max_norm, optimizer=settings.inner_optimizer, fused=False,
                 on_step=(lambda n, theta: n and after_update(n, theta)) if after_update else None)


def fitness_function(settings: RLSettings):
    """Fitness of each TDCA member: the return of its trained agents on
    ``settings.fitness_episodes`` fresh episodes (mean over episodes and the member's rows);
    the mean training return rides along. One environment per batch size (PGPE's batch
    carries its centre too). Under torchrun a process gets its ``share`` of the batch; its rows'
    episodes start as in the whole batch's environment, so the values are the same."""
    envs: dict[int, PopulationEnv] = {}

    def fitness(beta: torch.Tensor, generation: int, share: Share | None = None):
        if len(beta) not in envs:
            envs[len(beta)] = make_env(settings, len(beta), beta.device)
        env = envs[len(beta)]
        agent = agent_network(settings, env)
        episodes = settings.updates + settings.fitness_episodes  # a generation's episodes
        first = generation * episodes if settings.fresh_each_generation else 0
        seen = []
        theta = train_agents(
            settings, env, beta, on_update=lambda u, r: seen.append(r), first_episode=first,
            start=start_agents(settings, env, env.population, generation=generation),
            share=share)
        final = torch.stack([
            play(env, agent, theta,
                 first_row_seed(settings, first + settings.updates + k, env, share))[0]
            for k in range(settings.fitness_episodes)]).mean(0)
        per_member = len(beta), -1
        return (final.view(per_member).mean(1),
                {"train_return": torch.stack(seen).mean(0).view(per_member).mean(1)})

    return fitness


def shipped_tdca(settings: RLSettings) -> tuple[torch.Tensor, list[dict], dict]:
    """The TDCA network ``settings.load_evolved_from`` shipped for ``settings.task``: (centre
    ``[1, D]``, evolution log, manifest); CheckpointError if missing."""
    center, log, manifest = load_shipped(
        network_name(settings), settings,
        regenerate_command(settings, settings.load_evolved_from or "quick"))
    return center[None], log, manifest


EVAL_EPISODE = 1_000_000  # reported runs' episodes start here, away from evolution's


def evaluate_tdca(settings: RLSettings, beta: torch.Tensor, seeds: int,
                  eval_episodes: int | None = None, split: str = "train",
                  env: PopulationEnv | None = None) -> dict[str, torch.Tensor]:
    """Train ``seeds`` fresh sets of agents (distinct inits, unseen episodes) with the TDCA
    network ``beta [1, D]``. Returns, per row of the environment (``R = seeds`` here, seeds
    x variants for Meta-World): training curves ``[updates, R]``, the environment steps an
    agent has consumed after each update (mean over rows) ``[updates]``, the final agents'
    mean return over ``eval_episodes`` (default ``settings.eval_episodes``) further episodes
    ``[R]`` and, where the environment reports successes, their rate ``[R]``. ``env``: see
    :func:`horizon_returns`."""
    return horizon_returns(settings, beta, seeds, (1,), eval_episodes, split, env)[1]


def probe_multiples(settings: RLSettings) -> tuple[int, ...]:
    """The multiples of the evolved updates a network is measured at: 1, 2, 4, ... up to
    ``settings.horizon``."""
    return tuple(2**k for k in range(settings.horizon.bit_length()) if 2**k <= settings.horizon)


def horizon_returns(settings: RLSettings, beta: torch.Tensor, seeds: int,
                    multiples: tuple[int, ...] | None = None, eval_episodes: int | None = None,
                    split: str = "train", env: PopulationEnv | None = None
                    ) -> dict[int, dict[str, torch.Tensor]]:
    """:func:`evaluate_tdca` after ``k x settings.updates`` updates for each ``k`` of
    ``multiples`` (default :func:`probe_multiples`): does the TDCA network keep improving agents
    past the horizon it was evolved for, or does it only know its own? One training to the
    longest horizon, measured on the way at the shorter ones: the same agents and episodes as a
    training stopped there (evaluation episodes are seeded apart, and their steps are not
    counted as training's). Where played episodes leave a trace in the simulator
    (``seed_decides_episode`` False), each horizon trains on its own instead, so every number is
    what a training stopped there gives.

    ``env``: an environment of ``seeds`` members of ``split`` to play in, left open (building
    one can cost more than its episodes: a Meta-World row is a MuJoCo model); only where a seed
    decides an episode, so that what it played before changes nothing."""
    if env is not None and not env.seed_decides_episode:
        raise ValueError(f"{env.name}: episodes depend on what was played before; "
                         "let each evaluation make its own environment")
    multiples = multiples or probe_multiples(settings)
    eval_episodes = eval_episodes or settings.eval_episodes
    own = env is None
    env = env or make_env(settings, seeds, beta.device, split)
    env.member_steps = 0  # this training's experience
    if len(multiples) > 1 and not env.seed_decides_episode:
        env.close()
        return {k: horizon_returns(dataclasses.replace(settings, updates=k * settings.updates),
                                   beta, seeds, (1,), eval_episodes, split)[1]
                for k in multiples}
    agent = agent_network(settings, env)
    measured_at = {k * settings.updates: k for k in multiples}
    curve, env_steps, results = [], [], {}

    def record(update: int, returns: torch.Tensor) -> None:
        curve.append(returns)
        env_steps.append(env.member_steps / env.population)

    def score(updates: int, theta: torch.Tensor) -> None:
        if updates not in measured_at:
            return
        steps = env.member_steps
        finals, successes = [], []
        for k in range(eval_episodes):
            seed = episode_seed(settings, EVAL_EPISODE + updates + k, env.population)
            finals.append(play(env, agent, theta, seed)[0])
            if hasattr(env, "success"):
                successes.append(env.success.float())
        env.member_steps = steps
        result = {"curve": torch.stack(curve[:updates]),
                  "env_steps": torch.tensor(env_steps[:updates]),
                  "final": torch.stack(finals).mean(0)}
        if successes:
            result["success"] = torch.stack(successes).mean(0)
        results[measured_at[updates]] = result

    longest = dataclasses.replace(settings, updates=max(measured_at))
    train_agents(longest, env, beta.expand(seeds, -1), on_update=record,
                 first_episode=EVAL_EPISODE, after_update=score,
                 start=start_agents(settings, env, env.population, distinct=True))
    if own:
        env.close()
    return {k: results[k] for k in multiples}


def measure(settings: RLSettings, center: torch.Tensor) -> dict[str, str]:
    """How well the TDCA network ``center [D]`` trains ``settings.seeds`` sets of fresh agents
    (the seeds the notebooks use): the setting, the final return (mean ± std) and, where the
    environment reports successes, their rate."""
    result = evaluate_tdca(settings, center[None], settings.seeds)
    measured = {"setting": f"{settings.updates} updates, agents seeded from 1000, "
                           "final return = mean of 10 fresh episodes",
                "final_return": f"{result['final'].mean():.1f} ± {result['final'].std():.1f}"}
    if "success" in result:
        measured["success_rate"] = f"{result['success'].mean():.0%}"
    return measured


def experiment(settings: RLSettings, profile: str) -> Experiment:
    """The evolution of the TDCA network of ``settings`` under ``profile``, for
    :func:`~tdca_lib.method.outer_loop.evolve_or_load`."""
    env = make_env(settings, 1)  # for the sizes
    agent = agent_network(settings, env)
    tdca = tdca_network(settings, env, agent)
    env.close()
    print(f"{settings.task}: agent {agent}, TDCA network {tdca}")
    return Experiment(
        network_name(settings), settings, profile,
        notebook="06_metaworld" if settings.task == METAWORLD else "05_rl",
        fitness=fitness_function(settings),
        start=tdca.init(torch.Generator().manual_seed(settings.seed)),
        regenerate=regenerate_command(settings, profile),
        measure=functools.partial(measure, settings))


def evolve_and_ship(settings: RLSettings, profile: str) -> tuple[torch.Tensor, list[dict], dict]:
    """Evolve (resumably) the TDCA network of ``settings``, ship it to data/checkpoints/, and
    record in its manifest how well it trains fresh agents (:func:`measure`). Returns (centre
    ``[1, D]``, log, manifest)."""
    center, log, manifest = evolve_or_load(experiment(settings, profile))
    return center[None], log, manifest


def evaluate_untrained(settings: RLSettings, seeds: int, eval_episodes: int | None = None,
                       split: str = "train",
                       env: PopulationEnv | None = None) -> dict[str, torch.Tensor]:
    """The agents :func:`evaluate_tdca` starts from, never updated, scored on the episodes its
    final agents are scored on (what the training adds is the difference): the mean return
    ``final [R]`` and, where the environment reports successes, their rate ``success [R]``.
    Where a seed decides an episode this is what zero credits leave, without playing the
    training episodes. ``env``: see :func:`horizon_returns`."""
    eval_episodes = eval_episodes or settings.eval_episodes
    own = env is None
    env = env or make_env(settings, seeds, split=split)
    agent = agent_network(settings, env)
    theta = start_agents(settings, env, env.population, distinct=True)
    finals, successes = [], []
    for k in range(eval_episodes):
        seed = episode_seed(settings, EVAL_EPISODE + settings.updates + k, env.population)
        finals.append(play(env, agent, theta, seed)[0])
        if hasattr(env, "success"):
            successes.append(env.success.float())
    if own:
        env.close()
    result = {"final": torch.stack(finals).mean(0)}
    if successes:
        result["success"] = torch.stack(successes).mean(0)
    return result


def main(argv: list[str] | None = None) -> None:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--task", choices=list(TASKS), default="CartPole-v1")
        parser.add_argument("--updates", type=int, default=None,
                            help="agent updates a member makes: picks the task's quick scale "
                                 "in rl.TASKS (default: its first)")

    args, settings = evolution_command(
        "Evolve a recurrent TDCA network for an RL task and ship it to data/checkpoints/.",
        argv, lambda args, overrides: settings_for(
            args.profile, args.task, overrides.pop("updates", args.updates),
            load_evolved_from=None, **overrides),
        arguments)
    evolve_and_ship(settings, args.profile)


if __name__ == "__main__":
    sys.exit(command(main))
