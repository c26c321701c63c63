"""An AKS cluster with Flux (Azure's ``microsoft.flux`` extension) and one fluxConfiguration.

pulumi-azure-native creates the resource group and the managed cluster;
fluxgitops' ``FluxExtension`` / ``FluxConfiguration`` (``azure`` backend) attach
to it through ARM by the cluster's name — ``Output``s of the cluster, so they
wait for it — and the configuration ``depends_on`` the extension. The cluster's
admin kubeconfig (a secret ``Output``) feeds a ``pulumi_kubernetes.Provider``
for a plain ConfigMap created once the configuration exists.
"""

import base64

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s

from fluxgitops_pulumi import (
    AzureClusterArgs,
    FluxConfiguration,
    FluxConfigurationArgs,
    FluxExtension,
    FluxExtensionArgs,
    GitRepositoryArgs,
    KustomizationArgs,
    RepositoryRefArgs,
)

config = pulumi.Config()
location = config.get("location") or "westeurope"
node_count = config.get_int("nodeCount") or 2

group = azure_native.resources.ResourceGroup("rg", location=location)
aks = azure_native.containerservice.ManagedCluster(
    "aks",
    resource_group_name=group.name,
    location=group.location,
    dns_prefix="flux",
    identity=azure_native.containerservice.ManagedClusterIdentityArgs(
        type=azure_native.containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
    ),
    agent_pool_profiles=[
        azure_native.containerservice.ManagedClusterAgentPoolProfileArgs(
            name="system",
            mode=azure_native.containerservice.AgentPoolMode.SYSTEM,
            count=node_count,
            vm_size="Standard_D2s_v5",
            os_type=azure_native.containerservice.OSType.LINUX,
        )
    ],
)

where = AzureClusterArgs(resource_group_name=group.name, cluster_name=aks.name)
flux = FluxExtension("flux", FluxExtensionArgs(backend="azure", azure=where))
cluster_config = FluxConfiguration(
    "cluster-config",
    FluxConfigurationArgs(
        extension=flux,
        namespace="cluster-config",
        git_repository=GitRepositoryArgs(
            url="https://github.com/fluxcd/flux2-kustomize-helm-example",
            repository_ref=RepositoryRefArgs(branch="main"),
            sync_interval="5m",
        ),
        kustomizations={
            "infra": KustomizationArgs(path="./infrastructure", prune=True),
            "apps": KustomizationArgs(path="./apps/staging", prune=True, depends_on=["infra"]),
        },
    ),
)

credentials = azure_native.containerservice.list_managed_cluster_user_credentials_output(
    resource_group_name=group.name, resource_name=aks.name
)


def decode(data: str) -> str:
    """ARM returns the kubeconfig base64-encoded."""
    return base64.b64decode(data).decode()


kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
    credentials.kubeconfigs[0].value.apply(decode)
)
cluster = k8s.Provider("aks-k8s", kubeconfig=kubeconfig)
source_note = k8s.core.v1.ConfigMap(
    "gitops-source",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="gitops-source", namespace="default"),
    data={"repository": "https://github.com/fluxcd/flux2-kustomize-helm-example"},
    opts=pulumi.ResourceOptions(provider=cluster, depends_on=[cluster_config]),
)

pulumi.export("clusterName", aks.name)
pulumi.export("complianceState", cluster_config.compliance_state)
pulumi.export("sourceSyncedCommitId", cluster_config.source_synced_commit_id)
pulumi.export("kubeconfig", kubeconfig)
