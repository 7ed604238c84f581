"""Shared resources of the running app, exposed to routes as `Annotated` dependencies."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from core.config import Settings


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


def _settings(request: Request) -> Settings:
    return request.app.state.settings


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
