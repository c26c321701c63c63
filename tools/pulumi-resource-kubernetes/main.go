// Command pulumi-resource-kubernetes serves the real pulumi-kubernetes provider
// (github.com/pulumi/pulumi-kubernetes/provider/v4, pinned in go.mod).
//
// Upstream's cmd/pulumi-resource-kubernetes embeds schema-embed.json and
// terraform-mapping-embed.json, which `go generate` writes and the Go module does not
// ship. tools/build.py instead copies the module's committed schema.json and
// terraform-mapping.json next to this binary; this main reads them from there and, like
// upstream's generate.go, stamps the provider version into the schema.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const providerName = "kubernetes"

func dataDir() (string, error) {
	if dir := os.Getenv("FLUXGITOPS_PULUMI_KUBERNETES_DATA_DIR"); dir != "" {
		return dir, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}

func load() (pulumiSchema, terraformMapping []byte, err error) {
	dir, err := dataDir()
	if err != nil {
		return nil, nil, err
	}
	schemaContents, err := os.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, nil, err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaContents, &spec); err != nil {
		return nil, nil, fmt.Errorf("cannot deserialize schema: %w", err)
	}
	spec.Version = version.Version
	if pulumiSchema, err = json.Marshal(spec); err != nil {
		return nil, nil, fmt.Errorf("cannot reserialize schema: %w", err)
	}

	mappingContents, err := os.ReadFile(filepath.Join(dir, "terraform-mapping.json"))
	if err != nil {
		return nil, nil, err
	}
	var mapping interface{}
	if err := json.Unmarshal(mappingContents, &mapping); err != nil {
		return nil, nil, fmt.Errorf("cannot deserialize terraform mapping: %w", err)
	}
	if terraformMapping, err = json.Marshal(mapping); err != nil {
		return nil, nil, fmt.Errorf("cannot reserialize terraform mapping: %w", err)
	}
	return pulumiSchema, terraformMapping, nil
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Println(version.Version)
		return
	}
	pulumiSchema, terraformMapping, err := load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-kubernetes: %v\n", err)
		os.Exit(1)
	}
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
