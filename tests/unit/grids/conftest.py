"""Fixtures for the grid directory's unit tests: the sample directory is generated
and its resolver (spaCy gazetteer) built once per session."""

from __future__ import annotations

import logging

import pytest

from grids.directory import Directory
from grids.generator import generate
from grids.lookup import Resolver
from grids.service import InMemoryDirectoryService


@pytest.fixture(scope="session")
def sample() -> Directory:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return generate()


@pytest.fixture(scope="session")
def resolver(sample: Directory) -> Resolver:
    return Resolver(sample)


@pytest.fixture(scope="session")
def memory_service(sample: Directory, resolver: Resolver) -> InMemoryDirectoryService:
    return InMemoryDirectoryService(sample, resolver)
