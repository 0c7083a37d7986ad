"""Run every workload of a Kubernetes overlay from its built image, as a kubelet would.

There is no cluster and no container engine on the development machine, but buildah
starts a process inside an image (`buildah run --isolation chroot --network host`). This
package renders an overlay (`kubectl kustomize k8s/<stage>`), reads each workload's pod
(Deployments, Jobs, CronJobs, Knative Services), resolves its environment from the
rendered ConfigMaps and Secrets, points cluster host names at this machine (PostgreSQL at
127.0.0.1, peers at the ports their processes got), runs the Jobs to completion, starts
the rest and checks that each readiness and liveness probe answers 200, that nothing
was written outside the volumes of a read-only root, and that each Ingress backend
serves the API.

    python -m tools.podrun [--overlay k8s/monolith ...]

Modules: manifests (workloads from a render), environment (env, envFrom, valueFrom),
platform (what Knative and a SinkBinding inject), addresses (cluster names and container
ports to this machine's), databases (a role and a database per run on the local
PostgreSQL), containers (buildah), run (the order of it).
"""
