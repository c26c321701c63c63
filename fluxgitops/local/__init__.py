"""The local control plane: etcd + kube-apiserver on loopback, built from Go modules (I/O layer)."""
