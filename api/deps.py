"""Shared resources of the running app, exposed to routes as `Annotated` dependencies."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from api.actions import BookingActions
from api.calendar_relay import CalendarChangeRelay
from api.changes import BookingChanges
from api.metrics import ApiMetrics
from api.voice.tools import VoiceTools
from core.infra.config import Settings
from core.infra.secret_box import SecretBox

# `async def` although none of them awaits: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop per dependency on every request for what is only an attribute read.


async def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def _temporal(request: Request) -> Client:
    return request.app.state.temporal


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _actions(request: Request) -> BookingActions:
    return request.app.state.actions


async def _changes(request: Request) -> BookingChanges:
    return request.app.state.changes


async def _voice_tools(request: Request) -> VoiceTools:
    return request.app.state.voice_tools


async def _calendar_relay(request: Request) -> CalendarChangeRelay:
    return request.app.state.calendar_relay


async def _metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


async def _secrets(request: Request) -> SecretBox:
    return request.app.state.secrets


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ActionsDep = Annotated[BookingActions, Depends(_actions)]
VoiceToolsDep = Annotated[VoiceTools, Depends(_voice_tools)]
ChangesDep = Annotated[BookingChanges, Depends(_changes)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]
CalendarRelayDep = Annotated[CalendarChangeRelay, Depends(_calendar_relay)]
SecretBoxDep = Annotated[SecretBox, Depends(_secrets)]
