// Command flux-bundle writes the Flux install bundle — what `flux install --export` prints — from
// the controllers' own module sources, with Flux's own generator. tools/build.py builds and runs
// it (program "flux-bundle" in tools/versions.json); nothing else calls it.
//
//	flux-bundle -flux2 DIR -flux2-version VERSION -out DIR \
//	    -controller NAME=MODULE@VERSION=DIR [-controller ...] [-left-out NAME=REASON ...]
//
// The three steps of Flux's release pipeline, in order:
//
//  1. Each controller's release assets, as its release workflow makes them:
//     `kustomize build config/crd` → NAME.crds.yaml and `kustomize build config/manager`
//     → NAME.deployment.yaml (the image tag is the controller module's own version).
//  2. flux2's manifests/scripts/bundle.sh: `kustomize build` of manifests/bases/NAME (its
//     release-download URLs pointed at step 1's files, whatever version they name),
//     manifests/rbac and manifests/policies → NAME.yaml, rbac.yaml, policies.yaml.
//  3. flux2's pkg/manifestgen/install.Generate — the function `flux install --export` calls — over
//     step 2's files, with `flux install`'s default options and the given components.
//
// Outputs: OUT/install.yaml and OUT/SOURCES.json (which module and version every object of the
// bundle came from, and which components flux2 lists that the bundle leaves out).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fluxcd/flux2/v2/pkg/manifestgen/install"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"
)

const flux2Module = "github.com/fluxcd/flux2/v2"

// controller is one -controller NAME=MODULE@VERSION=DIR argument.
type controller struct {
	Name    string
	Module  string
	Version string
	Dir     string
}

type controllerFlags []controller

func (c *controllerFlags) String() string { return fmt.Sprint(*c) }

func (c *controllerFlags) Set(value string) error {
	name, rest, ok1 := strings.Cut(value, "=")
	modver, dir, ok2 := strings.Cut(rest, "=")
	module, version, ok3 := strings.Cut(modver, "@")
	if !ok1 || !ok2 || !ok3 || name == "" || module == "" || version == "" || dir == "" {
		return fmt.Errorf("want NAME=MODULE@VERSION=DIR, got %q", value)
	}
	*c = append(*c, controller{Name: name, Module: module, Version: version, Dir: dir})
	return nil
}

// reasons holds -left-out NAME=REASON arguments.
type reasons map[string]string

func (r reasons) String() string { return fmt.Sprint(map[string]string(r)) }

func (r reasons) Set(value string) error {
	name, reason, ok := strings.Cut(value, "=")
	if !ok || name == "" || reason == "" {
		return fmt.Errorf("want NAME=REASON, got %q", value)
	}
	r[name] = reason
	return nil
}

// component records where one component of the bundle came from.
type component struct {
	Module         string `json:"module"`
	Flux2Expects   string `json:"flux2_expects"`
	ReleaseAssets  string `json:"release_assets"`
	Flux2Base      string `json:"flux2_base"`
	ReplacedAssets string `json:"replaced_assets,omitempty"`
}

type sources struct {
	Version    string               `json:"version"`
	Generator  string               `json:"generator"`
	Namespace  string               `json:"namespace"`
	Registry   string               `json:"registry"`
	Components map[string]component `json:"components"`
	LeftOut    map[string]string    `json:"left_out"`
	Objects    map[string]string    `json:"objects"`
}

func main() {
	var controllers controllerFlags
	flux2Dir := flag.String("flux2", "", "directory of the "+flux2Module+" module")
	flux2Version := flag.String("flux2-version", "", "version of the "+flux2Module+" module")
	out := flag.String("out", "", "output directory")
	namespace := flag.String("namespace", install.MakeDefaultOptions().Namespace, "namespace")
	leftOut := reasons{}
	flag.Var(&controllers, "controller", "NAME=MODULE@VERSION=DIR of a controller module (repeat)")
	flag.Var(leftOut, "left-out", "NAME=REASON: a flux2 component the bundle leaves out, and why")
	flag.Parse()
	if *flux2Dir == "" || *flux2Version == "" || *out == "" || len(controllers) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*flux2Dir, *flux2Version, *out, *namespace, controllers, leftOut); err != nil {
		fmt.Fprintf(os.Stderr, "flux-bundle: %v\n", err)
		os.Exit(1)
	}
}

func run(flux2Dir, flux2Version, out, namespace string, controllers []controller, leftOut reasons) error {
	work, err := os.MkdirTemp("", "flux-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	manifests := filepath.Join(work, "manifests") // step 2's output: what cmd/flux embeds
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		return err
	}
	fs := filesys.MakeFsOnDisk()
	opts := install.MakeDefaultOptions()
	report := sources{
		Version:    flux2Version,
		Generator:  fmt.Sprintf("%s@%s pkg/manifestgen/install.Generate (flux install --export)", flux2Module, flux2Version),
		Namespace:  namespace,
		Registry:   opts.Registry,
		Components: map[string]component{},
		LeftOut:    map[string]string{},
		Objects:    map[string]string{},
	}
	flux2 := fmt.Sprintf("%s@%s", flux2Module, flux2Version)
	owners := map[string]string{} // kind/name → module@version, for objects of step 1
	var names []string
	for _, c := range controllers {
		module := c.Module + "@" + c.Version
		base := filepath.Join(work, "bases", c.Name)
		if err := copyDir(filepath.Join(flux2Dir, "manifests", "bases", c.Name), base); err != nil {
			return fmt.Errorf("%s: flux2 has no manifests/bases/%s: %w", c.Name, c.Name, err)
		}
		for _, asset := range []struct{ dir, file string }{
			{"config/crd", c.Name + ".crds.yaml"},
			{"config/manager", c.Name + ".deployment.yaml"},
		} {
			data, err := build(fs, filepath.Join(c.Dir, asset.dir))
			if err != nil {
				return fmt.Errorf("%s: kustomize build %s of %s: %w", c.Name, asset.dir, module, err)
			}
			if err := recordOwners(data, module, owners); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(base, asset.file), data, 0o644); err != nil {
				return err
			}
		}
		expects, err := pointAtLocalAssets(filepath.Join(base, "kustomization.yaml"), c.Name)
		if err != nil {
			return fmt.Errorf("%s: manifests/bases/%s of %s: %w", c.Name, c.Name, flux2, err)
		}
		data, err := build(fs, base)
		if err != nil {
			return fmt.Errorf("%s: kustomize build manifests/bases/%s: %w", c.Name, c.Name, err)
		}
		if err := os.WriteFile(filepath.Join(manifests, c.Name+".yaml"), data, 0o644); err != nil {
			return err
		}
		entry := component{
			Module:        module,
			Flux2Expects:  expects,
			ReleaseAssets: "config/crd, config/manager of " + module,
			Flux2Base:     "manifests/bases/" + c.Name + " of " + flux2,
		}
		if expects != c.Version {
			entry.ReplacedAssets = fmt.Sprintf("flux2 %s names %s %s; %s is what is built here",
				flux2Version, c.Name, expects, c.Version)
		}
		report.Components[c.Name] = entry
		names = append(names, c.Name)
	}
	for _, part := range []string{"rbac", "policies"} {
		data, err := build(fs, filepath.Join(flux2Dir, "manifests", part))
		if err != nil {
			return fmt.Errorf("kustomize build manifests/%s of %s: %w", part, flux2, err)
		}
		if err := os.WriteFile(filepath.Join(manifests, part+".yaml"), data, 0o644); err != nil {
			return err
		}
	}
	// Every component flux2 knows is either in the bundle or left out with a reason.
	for _, name := range append(append([]string{}, opts.Components...), opts.ComponentsExtra...) {
		if _, ok := report.Components[name]; ok {
			continue
		}
		reason, ok := leftOut[name]
		if !ok {
			return fmt.Errorf("flux2 %s lists component %s: give its module (-controller) or say why it is left out (-left-out %s=REASON)", flux2Version, name, name)
		}
		report.LeftOut[name] = reason
	}

	opts.Version = flux2Version
	opts.Namespace = namespace
	opts.Components = names
	opts.ComponentsExtra = nil
	manifest, err := install.Generate(opts, manifests)
	if err != nil {
		return fmt.Errorf("flux2 install.Generate: %w", err)
	}
	nodes, err := kio.FromBytes([]byte(manifest.Content))
	if err != nil {
		return fmt.Errorf("parsing the generated bundle: %w", err)
	}
	for _, node := range nodes {
		key := node.GetKind() + "/" + node.GetName()
		if owner, ok := owners[key]; ok {
			report.Objects[key] = owner
		} else {
			report.Objects[key] = flux2
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "install.yaml"), []byte(manifest.Content), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "SOURCES.json"), append(data, '\n'), 0o644)
}

// build runs `kustomize build DIR` with kustomize's default options.
func build(fs filesys.FileSystem, dir string) ([]byte, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	if err != nil {
		return nil, err
	}
	return resources.AsYaml()
}

// pointAtLocalAssets rewrites the release-download URLs of NAME in a flux2 base's
// kustomization.yaml to the local files step 1 wrote, and returns the version the URLs named.
func pointAtLocalAssets(path, name string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var k kustypes.Kustomization
	if err := yaml.Unmarshal(raw, &k); err != nil {
		return "", err
	}
	prefix := "https://github.com/fluxcd/" + name + "/releases/download/"
	version := ""
	replaced := 0
	for i, res := range k.Resources {
		rest, ok := strings.CutPrefix(res, prefix)
		if !ok {
			continue
		}
		ver, file, ok := strings.Cut(rest, "/")
		if !ok || (file != name+".crds.yaml" && file != name+".deployment.yaml") {
			return "", fmt.Errorf("unexpected release asset %q", res)
		}
		version = ver
		k.Resources[i] = file
		replaced++
	}
	if replaced != 2 {
		return "", fmt.Errorf("want the 2 release assets %s*.yaml among the resources, found %d", prefix, replaced)
	}
	data, err := yaml.Marshal(&k)
	if err != nil {
		return "", err
	}
	return version, os.WriteFile(path, data, 0o644)
}

// recordOwners notes module as the source of every object in a multi-document YAML.
func recordOwners(data []byte, module string, owners map[string]string) error {
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return err
	}
	for _, node := range nodes {
		owners[node.GetKind()+"/"+node.GetName()] = module
	}
	return nil
}

// copyDir copies the regular files of src (the read-only module cache) into a writable dst.
func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
