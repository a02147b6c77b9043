package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/regen-dev/regen/internal/config"
)

// The files of deploy/kubernetes/, parsed: the kustomization, the
// manifests it lists (the fields the tests in kubernetes_test.go check),
// and the NATS chart values.

const k8sDir = "deploy/kubernetes/"

type k8sMeta struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Labels    map[string]string `yaml:"labels"`
}

// k8sObject is one manifest document: its header, and the whole document
// to decode by kind.
type k8sObject struct {
	file       string
	doc        yaml.Node
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
}

func (o k8sObject) where() string { return fmt.Sprintf("%s %s/%s", o.file, o.Kind, o.Metadata.Name) }

func (o k8sObject) decode(t *testing.T, v any) {
	t.Helper()
	if err := o.doc.Decode(v); err != nil {
		t.Fatalf("%s: %v", o.where(), err)
	}
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// selects reports whether the selector is non-empty and matches labels.
func (s labelSelector) selects(labels map[string]string) bool {
	if len(s.MatchLabels) == 0 {
		return false
	}
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type k8sDeployment struct {
	Spec struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template struct {
			Metadata k8sMeta    `yaml:"metadata"`
			Spec     k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int64         `yaml:"terminationGracePeriodSeconds"`
	Containers                    []k8sContainer `yaml:"containers"`
	Volumes                       []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *k8sProbe `yaml:"startupProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a number or a container port's name
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	TimeoutSeconds   int `yaml:"timeoutSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

// portNumber resolves a port given by number or by a container port's name.
func (c k8sContainer) portNumber(p string) string {
	for _, cp := range c.Ports {
		if cp.Name == p {
			return strconv.Itoa(cp.ContainerPort)
		}
	}
	return p
}

type k8sService struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	Spec struct {
		MinAvailable   *int          `yaml:"minAvailable"`
		MaxUnavailable *int          `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type kedaScaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount *int `yaml:"minReplicaCount"`
		MaxReplicaCount *int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type     string            `yaml:"type"`
			Name     string            `yaml:"name"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

type kustomization struct {
	Namespace          string   `yaml:"namespace"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
}

// natsValues are the keys of the nats/nats chart's values regen depends on.
type natsValues struct {
	Config struct {
		Cluster struct {
			Enabled  bool `yaml:"enabled"`
			Replicas int  `yaml:"replicas"`
		} `yaml:"cluster"`
		JetStream struct {
			Enabled   bool `yaml:"enabled"`
			FileStore struct {
				Enabled bool   `yaml:"enabled"`
				Dir     string `yaml:"dir"`
				PVC     struct {
					Enabled bool   `yaml:"enabled"`
					Size    string `yaml:"size"`
				} `yaml:"pvc"`
			} `yaml:"fileStore"`
			Merge map[string]string `yaml:"merge"`
		} `yaml:"jetstream"`
		NATS struct {
			Port int `yaml:"port"`
		} `yaml:"nats"`
		Monitor struct {
			Enabled bool `yaml:"enabled"`
			Port    int  `yaml:"port"`
			TLS     struct {
				Enabled bool `yaml:"enabled"`
			} `yaml:"tls"`
		} `yaml:"monitor"`
		Merge map[string]any `yaml:"merge"`
	} `yaml:"config"`
	Container struct {
		Image struct {
			Tag string `yaml:"tag"`
		} `yaml:"image"`
	} `yaml:"container"`
}

// The chart's defaults for the values left out.
const (
	chartClientPort  = 4222
	chartMonitorPort = 8222
)

// k8sBundle is everything deploy/kubernetes/ holds, parsed.
type k8sBundle struct {
	kust    kustomization
	objects []k8sObject
	values  natsValues
	// release and namespace of the NATS chart, from the README's
	// helm install command.
	release, natsNamespace string
}

func loadKubernetes(t *testing.T) k8sBundle {
	t.Helper()
	var b k8sBundle
	if err := yaml.Unmarshal([]byte(readRepoFile(t, k8sDir+"kustomization.yaml")), &b.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, r := range b.kust.Resources {
		b.objects = append(b.objects, decodeManifests(t, r)...)
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, k8sDir+"nats-values.yaml")), &b.values); err != nil {
		t.Fatalf("nats-values.yaml: %v", err)
	}
	m := regexp.MustCompile(`helm install (\S+) nats/nats --namespace (\S+) .*-f ` + regexp.QuoteMeta(k8sDir+"nats-values.yaml")).
		FindStringSubmatch(readRepoFile(t, k8sDir+"README.md"))
	if m == nil {
		t.Fatalf("%sREADME.md has no `helm install RELEASE nats/nats --namespace NS ... -f %snats-values.yaml`", k8sDir, k8sDir)
	}
	b.release, b.natsNamespace = m[1], m[2]
	return b
}

// decodeManifests decodes every document of a manifest file.
func decodeManifests(t *testing.T, file string) []k8sObject {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, k8sDir+file)))
	var out []k8sObject
	for {
		o := k8sObject{file: file}
		err := dec.Decode(&o.doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		o.decode(t, &o)
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: a document without apiVersion, kind or metadata.name", file)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no manifest", file)
	}
	return out
}

// only returns the one object of kind (and apiVersion), decoded into v.
func (b k8sBundle) only(t *testing.T, apiVersion, kind string, v any) k8sObject {
	t.Helper()
	var found []k8sObject
	for _, o := range b.objects {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s manifests, want 1", len(found), kind)
	}
	if found[0].APIVersion != apiVersion {
		t.Fatalf("%s: apiVersion %s, want %s", found[0].where(), found[0].APIVersion, apiVersion)
	}
	found[0].decode(t, v)
	return found[0]
}

// regenDeployment is the Deployment, its regen container and the
// configuration that container runs with.
type regenDeployment struct {
	obj       k8sObject
	dep       k8sDeployment
	container k8sContainer
	cfg       config.Config
}

// deployment loads the one Deployment: its REGEN_* variables must be ones
// regen reads and its args parse as `regen run` flags (valueFrom variables
// get a value of the kind Kubernetes sets).
func (b k8sBundle) deployment(t *testing.T) regenDeployment {
	t.Helper()
	var d regenDeployment
	d.obj = b.only(t, "apps/v1", "Deployment", &d.dep)
	cs := d.dep.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%s: %d containers, want the regen one", d.obj.where(), len(cs))
	}
	d.container = cs[0]
	env := map[string]string{}
	for _, e := range d.container.Env {
		if !slices.Contains(config.EnvVars(), e.Name) {
			t.Errorf("%s: env %s is not a variable regen reads", d.obj.where(), e.Name)
		}
		env[e.Name] = e.Value
		switch vf := e.ValueFrom; {
		case vf == nil:
		case vf.FieldRef != nil && vf.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = "regen-7d9c4-x2x8q"
		case vf.SecretKeyRef != nil:
			env[e.Name] = "0123456789abcdef"
		default:
			t.Errorf("%s: env %s: a valueFrom this test cannot stand in for", d.obj.where(), e.Name)
		}
	}
	if len(d.container.Command) > 0 {
		t.Errorf("%s: command %q replaces the image's entrypoint %s", d.obj.where(), d.container.Command, regenBinPath)
	}
	d.cfg = runConfig(t, d.obj.where(), d.container.Args, env)
	return d
}
