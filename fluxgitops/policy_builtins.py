# ruff: noqa: E501  (ids, paths and display names are quoted whole, as Azure spells them)
"""Azure's built-in Flux v2 DeployIfNotExists policy definitions: ids, roles, parameter schemas.

Data only, as the Azure/azure-policy repository defines them (each entry's
``source``: repository, path, commit). ``fluxgitops.policy`` checks assignment
parameters against these schemas; ``tests/testdata/policy/*.json`` hold the same
text and ``tests/test_policy.py`` keeps the two equal. Pure.
"""

from __future__ import annotations

from typing import Any

BUILTIN_DEFINITIONS: dict[str, dict[str, Any]] = {
    "git-no-auth": {
        "source": {
            "repo": "Azure/azure-policy",
            "path": "built-in-policies/policyDefinitions/Kubernetes/Deploy-GitOps-Flux2-to-Kubernetes-cluster-no-secrets_DINE.json",
            "commit": "5162a3638373a10720851baa536a58a063552590",
        },
        "id": "/providers/Microsoft.Authorization/policyDefinitions/83ea2fd1-9eaf-2f6d-f672-cd7b2ac798f6",
        "displayName": "Configure Kubernetes clusters with Flux v2 configuration using public "
        "Git repository",
        "version": "1.1.0",
        "roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ],
        "parameters": {
            "configurationName": {
                "type": "string",
                "metadata": {"displayName": "Configuration Instance Name"},
            },
            "configurationNamespace": {
                "type": "string",
                "metadata": {"displayName": "Configuration Namespace"},
                "defaultValue": "default",
            },
            "configurationScope": {
                "type": "string",
                "metadata": {"displayName": "Configuration Scope"},
                "allowedValues": ["cluster", "namespace"],
                "defaultValue": "cluster",
            },
            "repositoryUrl": {"type": "string", "metadata": {"displayName": "Repository Url"}},
            "repositoryTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Repository Timeout (seconds)"},
                "defaultValue": 600,
            },
            "repositorySyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Repository Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "repositoryRefBranch": {
                "type": "string",
                "metadata": {"displayName": "Repository Reference Branch"},
                "defaultValue": "",
            },
            "repositoryRefTag": {
                "type": "string",
                "metadata": {"displayName": "Repository Tag"},
                "defaultValue": "",
            },
            "repositoryRefSemver": {
                "type": "string",
                "metadata": {"displayName": "Repository Semver Range"},
                "defaultValue": "",
            },
            "repositoryRefCommit": {
                "type": "string",
                "metadata": {"displayName": "Repository Commit SHA"},
                "defaultValue": "",
            },
            "kustomizationName": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Name"},
                "defaultValue": "kustomization-1",
            },
            "kustomizationPath": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Path"},
                "defaultValue": "./",
            },
            "kustomizationTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Timeout (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationSyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationRetryInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Retry Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationPrune": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Prune"},
                "defaultValue": False,
            },
            "kustomizationForce": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Force"},
                "defaultValue": False,
            },
            "effect": {
                "type": "String",
                "metadata": {"displayName": "Effect"},
                "allowedValues": ["DeployIfNotExists", "Disabled"],
                "defaultValue": "DeployIfNotExists",
            },
        },
    },
    "git-ssh": {
        "source": {
            "repo": "Azure/azure-policy",
            "path": "built-in-policies/policyDefinitions/Kubernetes/Deploy-GitOps-Flux2-to-Kubernetes-cluster-SSH_DINE.json",
            "commit": "0e6b38ba88d5b433cd0e2ac1786ee7348cdacd73",
        },
        "id": "/providers/Microsoft.Authorization/policyDefinitions/9e980dca-f3e1-8da3-6717-ad37b1ca6b27",
        "displayName": "Configure Kubernetes clusters with Flux v2 configuration using Git "
        "repository and SSH secrets",
        "version": "1.0.0",
        "roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ],
        "parameters": {
            "configurationName": {
                "type": "string",
                "metadata": {"displayName": "Configuration Instance Name"},
            },
            "configurationNamespace": {
                "type": "string",
                "metadata": {"displayName": "Configuration Namespace"},
                "defaultValue": "default",
            },
            "configurationScope": {
                "type": "string",
                "metadata": {"displayName": "Configuration Scope"},
                "allowedValues": ["cluster", "namespace"],
                "defaultValue": "cluster",
            },
            "repositoryUrl": {"type": "string", "metadata": {"displayName": "Repository Url"}},
            "repositoryTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Repository Timeout (seconds)"},
                "defaultValue": 600,
            },
            "repositorySyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Repository Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "repositoryRefBranch": {
                "type": "string",
                "metadata": {"displayName": "Repository Reference Branch"},
                "defaultValue": "",
            },
            "repositoryRefTag": {
                "type": "string",
                "metadata": {"displayName": "Repository Tag"},
                "defaultValue": "",
            },
            "repositoryRefSemver": {
                "type": "string",
                "metadata": {"displayName": "Repository Semver Range"},
                "defaultValue": "",
            },
            "repositoryRefCommit": {
                "type": "string",
                "metadata": {"displayName": "Repository Commit SHA"},
                "defaultValue": "",
            },
            "keyVaultSecretName": {
                "type": "string",
                "metadata": {"displayName": "SSH-key Key Vault secret name"},
            },
            "keyVaultName": {
                "type": "String",
                "metadata": {
                    "displayName": "Key Vault name",
                    "strongType": "Microsoft.KeyVault/vaults",
                    "assignPermissions": True,
                },
            },
            "repositorySshKnownHosts": {
                "type": "string",
                "metadata": {"displayName": "SSH Known Hosts"},
                "defaultValue": "",
            },
            "kustomizationName": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Name"},
                "defaultValue": "kustomization-1",
            },
            "kustomizationPath": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Path"},
                "defaultValue": "./",
            },
            "kustomizationTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Timeout (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationSyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationPrune": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Prune"},
                "defaultValue": False,
            },
            "kustomizationForce": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Force"},
                "defaultValue": False,
            },
            "effect": {
                "type": "String",
                "metadata": {"displayName": "Effect"},
                "allowedValues": ["DeployIfNotExists", "Disabled"],
                "defaultValue": "DeployIfNotExists",
            },
        },
    },
    "git-https": {
        "source": {
            "repo": "Azure/azure-policy",
            "path": "built-in-policies/policyDefinitions/Kubernetes/Deploy-GitOps-Flux2-to-Kubernetes-cluster-HTTPS-secrets_DINE.json",
            "commit": "5162a3638373a10720851baa536a58a063552590",
        },
        "id": "/providers/Microsoft.Authorization/policyDefinitions/bf1a31be-3b79-5ba8-c9e0-9a8c9ad9f749",
        "displayName": "Configure Kubernetes clusters with Flux v2 configuration using Git "
        "repository and HTTPS secrets",
        "version": "1.1.0",
        "roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ],
        "parameters": {
            "configurationName": {
                "type": "string",
                "metadata": {"displayName": "Configuration Instance Name"},
            },
            "configurationNamespace": {
                "type": "string",
                "metadata": {"displayName": "Configuration Namespace"},
                "defaultValue": "default",
            },
            "configurationScope": {
                "type": "string",
                "metadata": {"displayName": "Configuration Scope"},
                "allowedValues": ["cluster", "namespace"],
                "defaultValue": "cluster",
            },
            "repositoryUrl": {"type": "string", "metadata": {"displayName": "Repository Url"}},
            "repositorySyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Repository Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "repositoryRefBranch": {
                "type": "string",
                "metadata": {"displayName": "Repository Reference Branch"},
                "defaultValue": "",
            },
            "repositoryRefTag": {
                "type": "string",
                "metadata": {"displayName": "Repository Tag"},
                "defaultValue": "",
            },
            "repositoryRefSemver": {
                "type": "string",
                "metadata": {"displayName": "Repository Semver Range"},
                "defaultValue": "",
            },
            "repositoryRefCommit": {
                "type": "string",
                "metadata": {"displayName": "Repository Commit SHA"},
                "defaultValue": "",
            },
            "repositoryHttpsUser": {
                "type": "string",
                "metadata": {"displayName": "Plaintext HTTPS user name"},
            },
            "httpsKeyKeyVaultSecretName": {
                "type": "String",
                "metadata": {"displayName": "HTTPS-key Key Vault secret name"},
            },
            "keyVaultName": {
                "type": "String",
                "metadata": {
                    "displayName": "Key Vault name",
                    "strongType": "Microsoft.KeyVault/vaults",
                    "assignPermissions": True,
                },
            },
            "repositoryHttpsCACert": {
                "type": "string",
                "metadata": {"displayName": "HTTPS CA Cert"},
                "defaultValue": "",
            },
            "kustomizationName": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Name"},
                "defaultValue": "kustomization-1",
            },
            "kustomizationPath": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Path"},
                "defaultValue": "./",
            },
            "kustomizationTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Timeout (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationSyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationPrune": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Prune"},
                "defaultValue": False,
            },
            "kustomizationForce": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Force"},
                "defaultValue": False,
            },
            "effect": {
                "type": "String",
                "metadata": {"displayName": "Effect"},
                "allowedValues": ["DeployIfNotExists", "Disabled"],
                "defaultValue": "DeployIfNotExists",
            },
        },
    },
    "git-local-auth": {
        "source": {
            "repo": "Azure/azure-policy",
            "path": "built-in-policies/policyDefinitions/Kubernetes/Deploy-GitOps-Flux2-to-Kubernetes-cluster-LocalAuthRef_DINE.json",
            "commit": "5162a3638373a10720851baa536a58a063552590",
        },
        "id": "/providers/Microsoft.Authorization/policyDefinitions/b6c7fd52-4723-5f4d-a157-3d39bd16a1d7",
        "displayName": "Configure Kubernetes clusters with Flux v2 configuration using Git "
        "repository and local secrets",
        "version": "1.1.0",
        "roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ],
        "parameters": {
            "configurationName": {
                "type": "string",
                "metadata": {"displayName": "Configuration Instance Name"},
            },
            "configurationNamespace": {
                "type": "string",
                "metadata": {"displayName": "Configuration Namespace"},
                "defaultValue": "default",
            },
            "configurationScope": {
                "type": "string",
                "metadata": {"displayName": "Configuration Scope"},
                "allowedValues": ["cluster", "namespace"],
                "defaultValue": "cluster",
            },
            "repositoryUrl": {"type": "string", "metadata": {"displayName": "Repository Url"}},
            "repositoryTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Repository Timeout (seconds)"},
                "defaultValue": 600,
            },
            "repositorySyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Repository Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "repositoryRefBranch": {
                "type": "string",
                "metadata": {"displayName": "Repository Reference Branch"},
                "defaultValue": "",
            },
            "repositoryRefTag": {
                "type": "string",
                "metadata": {"displayName": "Repository Tag"},
                "defaultValue": "",
            },
            "repositoryRefSemver": {
                "type": "string",
                "metadata": {"displayName": "Repository Semver Range"},
                "defaultValue": "",
            },
            "repositoryRefCommit": {
                "type": "string",
                "metadata": {"displayName": "Repository Commit SHA"},
                "defaultValue": "",
            },
            "repositoryLocalAuthRef": {
                "type": "string",
                "metadata": {"displayName": "Local authentication secret reference name"},
            },
            "kustomizationName": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Name"},
                "defaultValue": "kustomization-1",
            },
            "kustomizationPath": {
                "type": "string",
                "metadata": {"displayName": "Kustomization Path"},
                "defaultValue": "./",
            },
            "kustomizationTimeout": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Timeout (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationSyncInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Sync Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationRetryInterval": {
                "type": "integer",
                "metadata": {"displayName": "Kustomization Retry Interval (seconds)"},
                "defaultValue": 600,
            },
            "kustomizationPrune": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Prune"},
                "defaultValue": False,
            },
            "kustomizationForce": {
                "type": "boolean",
                "metadata": {"displayName": "Kustomization Force"},
                "defaultValue": False,
            },
            "effect": {
                "type": "String",
                "metadata": {"displayName": "Effect"},
                "allowedValues": ["DeployIfNotExists", "Disabled"],
                "defaultValue": "DeployIfNotExists",
            },
        },
    },
    "extension": {
        "source": {
            "repo": "Azure/azure-policy",
            "path": "built-in-policies/policyDefinitions/Kubernetes/Deploy-GitOps-Flux2-Extension-to-Kubernetes-cluster_DINE.json",
            "commit": "7e7e3142ab7cd82848bcfbe1de4daad062eb1c21",
        },
        "id": "/providers/Microsoft.Authorization/policyDefinitions/f9175d5f-abc8-1dc3-bd3c-5d7476ada3d1",
        "displayName": "Configure installation of Flux extension on Kubernetes cluster",
        "version": "1.0.0",
        "roleDefinitionIds": [
            "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        ],
        "parameters": {
            "helmControllerEnabled": {
                "type": "Boolean",
                "metadata": {"displayName": "Enable Flux Helm Controller"},
                "defaultValue": True,
            },
            "notificationControllerEnabled": {
                "type": "Boolean",
                "metadata": {"displayName": "Enable Flux Notification Controller"},
                "defaultValue": True,
            },
            "imageAutomationController": {
                "type": "Boolean",
                "metadata": {"displayName": "Enable Flux Image Automation Controller"},
                "defaultValue": False,
            },
            "imageReflectorController": {
                "type": "Boolean",
                "metadata": {"displayName": "Enable Flux Image Reflector Controller"},
                "defaultValue": False,
            },
            "releaseTrain": {
                "type": "String",
                "metadata": {"displayName": "Release Train"},
                "allowedValues": ["Stable"],
                "defaultValue": "Stable",
            },
            "autoUpgradeMinorVersion": {
                "type": "Boolean",
                "metadata": {"displayName": "Auto Upgrade Minor Version"},
                "defaultValue": True,
            },
            "version": {
                "type": "String",
                "metadata": {"displayName": "Version"},
                "defaultValue": "",
            },
            "effect": {
                "type": "String",
                "metadata": {"displayName": "Effect"},
                "allowedValues": ["DeployIfNotExists", "Disabled"],
                "defaultValue": "DeployIfNotExists",
            },
        },
    },
}
"""Definition key → the definition (``id``, ``displayName``, ``roleDefinitionIds``, ``parameters``)."""
