"""Placeholder replaced below."""


def trace(f, *args):
    raise NotImplementedError
