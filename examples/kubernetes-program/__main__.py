"""Flux and one namespace-scoped GitOps configuration on any Kubernetes cluster.

The cluster connection is one ``pulumi_kubernetes.Provider`` (kubeconfig from the
``kubeconfig`` secret config, else ``$KUBECONFIG``), used by a plain Namespace,
by fluxgitops' ``FluxExtension`` / ``FluxConfiguration`` (``kubernetes`` backend)
and by a ConfigMap that depends on the configuration being Compliant and records
the commit it synced.
"""

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from fluxgitops_pulumi import (
    FluxConfiguration,
    FluxConfigurationArgs,
    FluxExtension,
    FluxExtensionArgs,
    GitRepositoryArgs,
    KustomizationArgs,
    ReconcilerArgs,
    RepositoryRefArgs,
)

config = pulumi.Config()
# "install" puts the Flux controllers on the cluster; "external" when they already run there
flux_mode: Literal["install", "external"] = (
    "external" if config.get("fluxMode") == "external" else "install"
)
deploy_reconciler = config.get_bool("deployReconciler")
sync_interval = config.get("syncInterval") or "1m"

cluster = k8s.Provider(
    "cluster", kubeconfig=config.get_secret("kubeconfig"), context=config.get("context")
)
namespace = k8s.core.v1.Namespace(
    "team-a",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="team-a"),
    opts=pulumi.ResourceOptions(provider=cluster),
)

flux = FluxExtension(
    "flux",
    FluxExtensionArgs(
        mode=flux_mode,
        k8s_provider=cluster,
        reconciler=ReconcilerArgs(deploy=deploy_reconciler),
    ),
)

team_a = FluxConfiguration(
    "team-a",
    FluxConfigurationArgs(
        extension=flux,
        namespace="team-a",
        scope="namespace",
        git_repository=GitRepositoryArgs(
            url=config.require("gitUrl"),
            repository_ref=RepositoryRefArgs(branch=config.get("branch") or "main"),
            sync_interval=sync_interval,
        ),
        kustomizations={
            "app": KustomizationArgs(path="./teams/team-a", prune=True, sync_interval="1m"),
        },
        wait_for_reconciliation=True,
        reconciliation_wait_duration="5m",
    ),
    opts=pulumi.ResourceOptions(depends_on=[namespace]),
)

# created only once team-a is Compliant (depends_on + waitForReconciliation)
deployed = k8s.core.v1.ConfigMap(
    "team-a-deployed",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="gitops-deployed", namespace="team-a"),
    data={
        "complianceState": team_a.compliance_state,
        "sourceSyncedCommitId": team_a.source_synced_commit_id,
    },
    opts=pulumi.ResourceOptions(provider=cluster, depends_on=[team_a]),
)

pulumi.export("complianceState", team_a.compliance_state)
pulumi.export("sourceSyncedCommitId", team_a.source_synced_commit_id)
pulumi.export("objects", team_a.objects)
pulumi.export("deployedConfigMap", deployed.metadata.name)
