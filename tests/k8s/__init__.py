"""Offline proof of the Kubernetes manifests: build, schemas, policy (`make k8s-check`)."""
