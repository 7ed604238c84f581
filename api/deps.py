"""Shared resources of the running app, exposed to routes as `Annotated` dependencies."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from api.actions import BookingActions
from api.changes import BookingChanges
from api.metrics import ApiMetrics
from api.voice.tools import VoiceTools
from core.config import Settings


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _temporal(request: Request) -> Client:
    return request.app.state.temporal


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _actions(request: Request) -> BookingActions:
    return request.app.state.actions


def _changes(request: Request) -> BookingChanges:
    return request.app.state.changes


def _voice_tools(request: Request) -> VoiceTools:
    return request.app.state.voice_tools


def _metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ActionsDep = Annotated[BookingActions, Depends(_actions)]
VoiceToolsDep = Annotated[VoiceTools, Depends(_voice_tools)]
ChangesDep = Annotated[BookingChanges, Depends(_changes)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]
