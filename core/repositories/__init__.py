"""All SQL of the project lives in these modules; everything else calls their functions."""

from typing import TypeAlias

import asyncpg

# Repository functions accept either; a Connection lets the caller group calls in a transaction.
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool
