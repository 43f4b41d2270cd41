"""Meta-World tasks for the multi-task RL experiment (paper Table S6), batched for a population.

One TDCA network updates agents on three task types, ``button-press-wall-v3``, ``dial-turn-v3``
and ``door-close-v3``; it is evolved on 3 task types x 3 initial states and tested on 3 x 10
other initial states. An initial state ("variant") is one Meta-World task object: the positions
of the task's object (button box, dial, door) and so of its goal.

    env = MetaWorldPopulation(members=8, split="train", max_steps=150)   # 8 x 9 rows
    obs = env.reset(seed=0)                       # [P*V, 39], row = p * V + v
    done = torch.zeros(env.population, dtype=torch.bool)
    while not done.all():
        obs, reward, done = env.step(policy(obs, env.task_ids))   # actions [P*V, 4] in [-1, 1]
    success = env.per_member(env.success)          # [P, V] bool

Variants, fixed once and for all: for each task type, ``metaworld.MT1(task_type, seed=0)
.train_tasks`` (50 tasks with distinct object positions; Meta-World asserts they are distinct),
the first 3 for training and the next 10 (indices 3..12) for testing. :func:`describe_variants`
lists them with their object and goal positions. MT1 tasks show the goal in the observation
(``obs[36:39]``), so an agent can tell its initial state apart.

Seeds: the seed changes nothing. With its task set, a Meta-World environment's reset is exactly
deterministic (its ``reset(seed)`` ignores the seed; ``seed()`` only seeds a generator that is
used when no task is set) and so is MuJoCo's step: a variant's episode is a function of the
agent's actions alone, bit for bit, whatever the seed and whatever the environment ran before.
``reset(seed)`` still takes (and checks) a seed, so :func:`tdca_lib.experiments.rl.play` drives this
environment unchanged.

Episodes: Meta-World never ends an episode early (``terminated`` is always False, success
included), so every row is done after exactly ``max_steps`` steps (Meta-World: 500; shorter runs
fit a CPU) and the finished-member contract of :class:`~tdca_lib.experiments.rl_envs.PopulationEnv`
holds trivially; no environment is ever stepped past its end, so nothing resets behind our back.
Rewards are Meta-World's, 0 to 10 per step.

Success: ``env.success [P*V]`` bool, True for a row once ``info["success"]`` was 1 on any step
since ``reset``: the verdict of Meta-World's own evaluation (metaworld/evaluation.py), which
ends an episode at its first success and counts it. The episode itself runs on to ``max_steps``.
It is an attribute, not a fourth return of ``step``, so that ``step`` keeps the contract every
population environment shares.

Rendering (:func:`frame`) needs an OpenGL context: ``MUJOCO_GL=egl`` renders on a CPU with
Mesa's libEGL (and on NVIDIA GPUs), ``MUJOCO_GL=osmesa`` with libosmesa6.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

from .rl_envs import PopulationEnv

TASK_TYPES = ("button-press-wall-v3", "dial-turn-v3", "door-close-v3")  # task_ids index this
SPLITS = {"train": range(0, 3), "test": range(3, 13)}  # indices into MT1(seed=MT1_SEED)'s tasks
MT1_SEED = 0
MAX_STEPS = 500  # Meta-World's max_path_length: its step raises beyond
CAMERAS = ("corner", "corner2", "corner3")  # Meta-World's named views of the table


@dataclass(frozen=True)
class TaskVariant:
    """One initial state: Meta-World task object ``mt1_index`` of ``task_type``.

    ``index`` counts the variants of one task type within its split (train 0..2, test 0..9).
    """

    task_type: str
    split: str
    index: int
    mt1_index: int

    @property
    def task_id(self) -> int:
        """Index of the task type in :data:`TASK_TYPES` (the same in every environment)."""
        return TASK_TYPES.index(self.task_type)

    @property
    def object_pos(self) -> np.ndarray:
        """``[3]`` the task's random vector: where its object (button box, dial, door) stands."""
        return pickle.loads(_mt1(self.task_type).train_tasks[self.mt1_index].data)["rand_vec"]


def check_task_types(task_types: Sequence[str] | str) -> tuple[str, ...]:
    """The task types as a tuple; ValueError naming the valid ones for an unknown one."""
    task_types = (task_types,) if isinstance(task_types, str) else tuple(task_types)
    for name in task_types:
        if name not in TASK_TYPES:
            raise ValueError(f"unknown task type {name!r}; valid: {', '.join(TASK_TYPES)}")
    if not task_types or len(set(task_types)) < len(task_types):
        raise ValueError(f"task types must be distinct and at least one, got {task_types}")
    return task_types


def variants(split: str = "train",
             task_types: Sequence[str] | str = TASK_TYPES) -> list[TaskVariant]:
    """The variants of ``split`` ("train": 3 per task type, "test": 10), task type major: all of
    the first task type's, then the next's (the order of ``MetaWorldPopulation``'s v)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    return [TaskVariant(name, split, i, k) for name in check_task_types(task_types)
            for i, k in enumerate(SPLITS[split])]


def describe_variants(split: str | None = None,
                      task_types: Sequence[str] | str = TASK_TYPES) -> list[dict]:
    """One dict per variant (both splits unless ``split``), for the notebook's table: task type,
    split, index, MT1 index, object position and goal position (x, y, z in metres, as the
    observation's last 3 entries show it after reset)."""
    rows = []
    for name in check_task_types(task_types):
        env = _bare_env(name)  # one environment per task type, switched between its variants
        for split_name in [split] if split else list(SPLITS):
            for variant in variants(split_name, [name]):
                env.set_task(_mt1(name).train_tasks[variant.mt1_index])
                obs, _ = env.reset()
                rows.append(dict(task_type=name, split=split_name, index=variant.index,
                                 mt1_index=variant.mt1_index,
                                 object_pos=tuple(np.round(variant.object_pos, 4).tolist()),
                                 goal_pos=tuple(np.round(obs[36:39], 4).tolist())))
        env.close()
    return rows


@functools.cache
def _mt1(task_type: str):
    """Meta-World's MT1 benchmark of one task type (50 tasks; ~0.4 s to build, so built once)."""
    try:  # imported here: ~1 s, and only this module needs it
        import metaworld
    except Exception as err:  # noqa: BLE001
        # MuJoCo loads the OpenGL library MUJOCO_GL names on import: a missing one breaks even
        # stepping, with an error that does not say so.
        if os.environ.get("MUJOCO_GL"):
            raise RuntimeError(f"MuJoCo could not be imported with MUJOCO_GL="
                               f"{os.environ['MUJOCO_GL']!r} ({_describe(err)}); stepping needs "
                               f"no renderer: unset MUJOCO_GL, or fix it. {RENDER_FIX}") from err
        raise
    return metaworld.MT1(task_type, seed=MT1_SEED)


def _bare_env(task_type: str, variant: TaskVariant | None = None, **kwargs) -> gym.Env:
    """A bare Meta-World environment (no gymnasium wrappers), its task set to ``variant``'s."""
    env = _mt1(task_type).train_classes[task_type](**kwargs)
    if variant is not None:
        env.set_task(_mt1(task_type).train_tasks[variant.mt1_index])
    return env


def gym_env(variant: TaskVariant, max_steps: int = MAX_STEPS) -> gym.Env:
    """One variant as a plain gymnasium environment ending after ``max_steps`` (for the
    stable-baselines3 baselines); its ``info["success"]`` is Meta-World's."""
    if not 1 <= max_steps <= MAX_STEPS:
        raise ValueError(f"max_steps must be in [1, {MAX_STEPS}], got {max_steps}")
    return gym.wrappers.TimeLimit(_bare_env(variant.task_type, variant), max_steps)


class MetaWorldPopulation(PopulationEnv):
    """Every member plays every variant of ``split``: ``P * V`` rows, row ``p * V + v`` is member
    ``p`` on ``self.variants[v]``; see the module docstring for seeds, episodes and success.

    Attributes (besides :class:`~tdca_lib.experiments.rl_envs.PopulationEnv`'s; its ``population``
    is the number of rows, ``P * V``, the batch that ``step`` takes and returns):
        members: P.
        variants: the V variants, task type major (:func:`variants`).
        task_ids: ``[P*V]`` long, index of each row's task type in :data:`TASK_TYPES`.
        variant_ids: ``[P*V]`` long, index of each row's variant in ``variants``.
        success: ``[P*V]`` bool, True once a row succeeded this episode (a copy).

    ``vectorization``: "list" steps a plain list of Meta-World environments, "sync" gymnasium's
    SyncVectorEnv (autoreset disabled) over the same. They measured equal here (2 busy cores,
    72 rows, benchmarks/bench_metaworld.py: 4.7k vs 4.6k row-steps/s; one bare environment in a
    loop 6.1k: MuJoCo's step, ~0.17 ms, is the cost and nothing batches it), so the default is
    the simpler list. Building takes ~0.1 s and ~20 MB (MuJoCo model and data) per row.
    """

    obs_dim, action_dim, discrete, action_bound = 39, 4, False, 1.0

    def __init__(self, members: int, split: str = "train",
                 task_types: Sequence[str] | str = TASK_TYPES,
                 max_steps: int = MAX_STEPS, device: torch.device | str = "cpu",
                 vectorization: str = "list"):
        if members < 1:
            raise ValueError(f"members must be >= 1, got {members}")
        if not 1 <= max_steps <= MAX_STEPS:
            raise ValueError(f"max_steps must be in [1, {MAX_STEPS}] (Meta-World's episode "
                             f"length), got {max_steps}")
        if vectorization not in ("list", "sync"):
            raise ValueError(f"vectorization must be 'list' or 'sync', got {vectorization!r}")
        self.variants = variants(split, task_types)
        self.members, self.split, self.max_steps = members, split, max_steps
        self.vectorization = vectorization
        V = len(self.variants)
        super().__init__(members * V, device)
        self.name = f"Meta-World {'/'.join(check_task_types(task_types))} ({split})"
        self.variant_ids = torch.arange(V, device=self.device).repeat(members)
        self.task_ids = torch.tensor([v.task_id for v in self.variants],
                                     device=self.device).repeat(members)
        rows = [self.variants[v] for v in self.variant_ids.tolist()]
        if vectorization == "list":
            self.envs = [_bare_env(v.task_type, v) for v in rows]
        else:
            self.vec = gym.vector.SyncVectorEnv(
                [functools.partial(_bare_env, v.task_type, v) for v in rows],
                autoreset_mode=AutoresetMode.DISABLED)
        self._success = torch.zeros(self.population, dtype=torch.bool, device=self.device)
        self._t = 0

    @property
    def success(self) -> torch.Tensor:
        """``[P*V]`` bool: the row's episode reached Meta-World's success on some step."""
        return self._success.clone()

    @property
    def context_dim(self) -> int:
        return len(TASK_TYPES)

    def context(self) -> torch.Tensor:
        """``[P*V, 3]`` each row's task type, one-hot: one TDCA network serves all three."""
        return torch.nn.functional.one_hot(self.task_ids, len(TASK_TYPES)).float()

    def per_member(self, values: torch.Tensor) -> torch.Tensor:
        """Per-row values ``[P*V, ...]`` as ``[P, V, ...]`` (member, variant)."""
        return values.reshape(self.members, len(self.variants), *values.shape[1:])

    def _reset(self, seed: int) -> torch.Tensor:
        # The seed changes nothing (module docstring); each environment resets to its variant.
        if self.vectorization == "list":
            obs = np.stack([env.reset()[0] for env in self.envs])
        else:
            obs, _ = self.vec.reset()
        self._success = torch.zeros(self.population, dtype=torch.bool, device=self.device)
        self._t = 0
        return torch.from_numpy(obs)

    def _step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # Meta-World clips the xyz part itself but passes the gripper's through to MuJoCo: clip
        # all four here, so every row sees exactly the valid action it is credited with.
        actions = actions.detach().cpu().float().clamp(-1, 1).numpy()
        if self.vectorization == "list":
            steps = [env.step(a) for env, a in zip(self.envs, actions)]
            obs = np.stack([s[0] for s in steps])
            reward = np.array([s[1] for s in steps], dtype=np.float64)
            success = np.array([s[4]["success"] for s in steps]) > 0
        else:
            obs, reward, _, _, info = self.vec.step(actions)
            success = info["success"] > 0
        self._t += 1
        live = ~self._done
        self._success |= torch.from_numpy(success).to(self.device) & live
        ended = torch.full((self.population,), self._t >= self.max_steps, device=self.device)
        return torch.from_numpy(obs), torch.from_numpy(reward), ended

    def close(self) -> None:
        for env in self.envs if self.vectorization == "list" else [self.vec]:
            env.close()

    def __repr__(self) -> str:
        return (f"MetaWorldPopulation({self.name!r}, members={self.members}, "
                f"variants={len(self.variants)}, max_steps={self.max_steps})")


RENDER_FIX = (
    "To render MuJoCo without a display, set MUJOCO_GL before Python starts: MUJOCO_GL=egl "
    "(CPU rendering with Mesa's EGL: apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri; "
    "on an NVIDIA GPU its driver's EGL) or MUJOCO_GL=osmesa (apt-get install -y libosmesa6); "
    "with a display, MUJOCO_GL=glfw. frame() picks egl when MUJOCO_GL is unset."
)


def frame(task_type: str, variant: int = 0, split: str = "train", camera: str = "corner",
          size: int = 480) -> np.ndarray:
    """An RGB picture ``[size, size, 3]`` uint8 of ``task_type``'s initial state ``variant``
    (its index in ``split``), seen from Meta-World's ``camera``.

    RuntimeError, saying how to fix it, when MuJoCo cannot open an OpenGL context.
    """
    chosen = [v for v in variants(split, [task_type]) if v.index == variant]
    if not chosen:
        raise ValueError(f"variant must be in [0, {len(SPLITS[split])}) for split {split!r}, "
                         f"got {variant}")
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(CAMERAS)}")
    _mt1(task_type)  # MuJoCo imported first, under the caller's MUJOCO_GL (see below)
    # gymnasium reads MUJOCO_GL when a renderer opens; left unset it tries glfw first, which
    # dies with a MuJoCo FatalError on a machine without a display. Set only now, after MuJoCo's
    # import, so that a missing EGL fails this call alone, not every later step.
    os.environ.setdefault("MUJOCO_GL", "egl")
    # torch's optimisers load torch._dynamo, hence triton's LLVM, on first use; loaded after
    # Mesa's EGL (its own LLVM) that segfaults the process, loaded before it works (measured).
    import torch._dynamo  # noqa: F401

    env = None
    try:
        env = _bare_env(task_type, chosen[0], render_mode="rgb_array", camera_name=camera,
                        width=size, height=size)
        env.reset()
        image = env.render()
    except Exception as err:  # noqa: BLE001 (errors of GL backends have no common type)
        raise RuntimeError(f"MuJoCo could not render with MUJOCO_GL="
                           f"{os.environ['MUJOCO_GL']!r} ({_describe(err)}). {RENDER_FIX}") from err
    finally:
        if env is not None:
            _close_quietly(env)
    # Meta-World's corner cameras look with their up axis pointing down: turn the picture 180°.
    return np.ascontiguousarray(np.rot90(image, 2))


def _describe(err: Exception) -> str:
    try:  # PyOpenGL's EGLError can fail to format itself
        return f"{type(err).__name__}: {err}"
    except Exception:  # noqa: BLE001
        return type(err).__name__


def _close_quietly(env: gym.Env) -> None:
    """Close a rendering env; a renderer that never opened fails to free, harmlessly."""
    try:
        env.close()
    except Exception:  # noqa: BLE001
        pass
