"""Built-in container runtimes: docker, podman and fake (one module each)."""
