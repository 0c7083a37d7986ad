"""A projection to a cluster, from the manifests: what each stage would need at a target load.

Every figure here is *projected*, never measured: the autoscalers' documented
algorithms (hpa.py: Kubernetes' HorizontalPodAutoscaler; kpa.py: Knative's Pod
Autoscaler), fed with the parameters read from the rendered overlays
(manifests.py: `kubectl kustomize k8s/<stage>`) and with the CPU a local run
measured per component and request (demand.py). steady.py gives the replicas
at a steady target load, timeline.py the replicas over a load shape's time.
Pure: no process is started, no cluster is asked (manifests.py runs kubectl
only to render).
"""
