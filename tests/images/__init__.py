"""The images (Containerfile) and the harness that runs the manifests from them."""
