"""The request lifecycle: understand, own, serve, communicate."""
