package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checkformat"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/manifestcheck"
	"github.com/modelgate/modelgate/internal/manifests"
	"github.com/modelgate/modelgate/internal/policy"
	"github.com/modelgate/modelgate/internal/probe"
)

const checkLong = `Check the ModelDeployments in manifests before they reach a cluster, with
the operator's own checklist: the same checks, the same profiles and
overrides. Nothing is sent to a cluster.

Each ModelDeployment is judged with the objects of its namespace in the same
manifests as its surroundings: HorizontalPodAutoscalers, PodDisruptionBudgets,
NetworkPolicies, Secrets, ConfigMaps, Services, Ingresses, HTTPRoutes,
Gateways and ResourceQuotas. Objects without a namespace are in --namespace,
or "default". Kinds the checks do not read (a Kustomization, another
operator's resources) are skipped.

What only a cluster holds (the Deployments of running versions, the nodes)
cannot be judged here: those items report Unknown, are listed as not judged,
and do not fail the check; the operator judges them in the cluster. The
network checks (the model artifact, the registry entry, a model card URL) are
Skipped unless --network is given.

With --policy, ModelDeploymentPolicies (files or folders, as the platform
team keeps them) judge the ModelDeployments as admission and the operator
would: the effective profile and item floors apply to the checklist, and
where a spec asks for less than a policy allows the check fails, naming the
policy and the field. A policy selects namespaces by their labels: a
Namespace among the manifests gives its own, and --namespace-labels gives
those of every other namespace (none by default, so a policy selecting
env=prod selects nothing without them). An override a policy lets only some
groups sign off counts as signed by the identity of --as and --as-group,
the user who will apply the manifests; without them, by nobody.

Exit status: 0 when no enforced item fails and no policy is violated, 1 when
one does, 2 when the command line or a manifest cannot be read.

Output formats (-o): text (for people), json, sarif (SARIF 2.1.0, for code
scanning) and junit (JUnit XML, for test reports); the machine formats are
documented in docs/kubectl-modelgate.md.`

const checkExample = `  # Check a folder of manifests (searched recursively)
  kubectl modelgate check -f deploy/

  # Check what kustomize renders, as SARIF for code scanning
  kustomize build overlays/prod | kubectl modelgate check -f - -o sarif > modelgate.sarif

  # Also probe the artifact, the registry and the model card over the network
  kubectl modelgate check -f deploy/model.yaml --network

  # Judge by the platform's policies, as in a namespace labelled env=prod,
  # applied by a member of platform-sre
  kubectl modelgate check -f deploy/ --policy policies/ --namespace-labels env=prod --as-group platform-sre`

func newCheckCommand(opts *Options) *cobra.Command {
	var (
		files          []string
		output         string
		network        bool
		networkTimeout time.Duration
		policyPaths    []string
		nsLabels       string
	)
	cmd := &cobra.Command{
		Use:     "check -f PATH [-f PATH ...]",
		Short:   "Check manifests offline with the operator's checklist (for CI)",
		Long:    checkLong,
		Example: checkExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("check reads manifests given with -f, not arguments: %s -f %s", cmd.CommandPath(), strings.Join(args, " -f "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := checkformat.ParseFormat(output)
			if err != nil {
				return usageError("%v", err)
			}
			if len(files) == 0 {
				return usageError("check needs manifests: -f FILE, -f FOLDER (searched recursively) or -f - for standard input")
			}
			set, err := manifests.NewReader(manifestcheck.Scheme(), opts.Streams.In).Read(files)
			if err != nil {
				var problems manifests.Problems
				if errors.As(err, &problems) {
					return exitCode{ExitUsage, fmt.Errorf("%d %s could not be read; fix them and check again:\n%w",
						len(problems), plural(len(problems), "manifest", "manifests"), err)}
				}
				return exitCode{ExitUsage, err}
			}
			copts := manifestcheck.Options{}
			if ns := opts.ConfigFlags.Namespace; ns != nil {
				copts.Namespace = *ns
			}
			if network {
				copts.Prober = probe.New(probe.Options{Timeout: networkTimeout})
			}
			if err := policyOptions(opts, &copts, policyPaths, nsLabels); err != nil {
				return err
			}
			judged, err := manifestcheck.Check(cmd.Context(), set.Objects, copts)
			if err != nil {
				return exitCode{ExitUsage, fmt.Errorf("ModelDeployments that no check can judge; fix them and check again:\n%w", err)}
			}
			if err := checkformat.Write(opts.Streams.Out, format, judged, checkformat.Options{
				Style: opts.style(opts.Streams.Out), ToolVersion: opts.Version,
			}); err != nil {
				return err
			}
			var failing []string
			what := "enforced checklist items"
			for i := range judged {
				if j := &judged[i]; !j.Passed() {
					ids := j.Failed()
					for _, v := range j.Violations() {
						ids = append(ids, "policy "+v.Policy+": "+v.Field)
						what = "enforced checklist items or ModelDeploymentPolicies"
					}
					failing = append(failing, fmt.Sprintf("%s/%s (%s)", j.MD.Namespace, j.MD.Name, strings.Join(ids, ", ")))
				}
			}
			switch {
			case len(failing) == 0:
				return nil
			case format == checkformat.Text: // the text already ends with the verdict
				return exitCode{code: ExitFailed}
			}
			// Machine output goes to a file or a tool; the CI log still says why.
			return exitCode{ExitFailed, fmt.Errorf("%d of %d %s fail %s: %s",
				len(failing), len(judged), plural(len(judged), "ModelDeployment", "ModelDeployments"), what, strings.Join(failing, "; "))}
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "A manifest file, a folder of them (searched recursively for .yaml, .yml and .json), or - for standard input; repeatable")
	cmd.Flags().StringVarP(&output, "output", "o", string(checkformat.Text), "Output format: text, json, sarif or junit")
	cmd.Flags().BoolVar(&network, "network", false, "Also run the network checks: probe the model artifact, the registry entry and a model card URL")
	cmd.Flags().DurationVar(&networkTimeout, "network-timeout", probe.DefaultTimeout, "How long one network probe may take, with --network")
	cmd.Flags().StringSliceVar(&policyPaths, "policy", nil, "A file or folder of ModelDeploymentPolicies to judge the ModelDeployments by; repeatable")
	cmd.Flags().StringVar(&nsLabels, "namespace-labels", "", "Labels of the namespaces no Namespace manifest describes, as k=v,k2=v2, for the policies' namespaceSelectors")
	_ = cmd.MarkFlagFilename("policy", "yaml", "yml", "json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(
		[]cobra.Completion{"text", "json", "sarif", "junit"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// policyOptions reads the policies of --policy, the labels of
// --namespace-labels and the applier of --as and --as-group into copts.
func policyOptions(opts *Options, copts *manifestcheck.Options, paths []string, nsLabels string) error {
	if nsLabels != "" {
		set, err := labels.ConvertSelectorToLabelsMap(nsLabels)
		if err != nil {
			return usageError("--namespace-labels must be labels k=v separated by commas, such as env=prod,team=risk: %v", err)
		}
		copts.NamespaceLabels = set
	}
	if cf := opts.ConfigFlags; cf != nil {
		var who policy.Signer
		if cf.Impersonate != nil {
			who.User = *cf.Impersonate
		}
		if cf.ImpersonateGroup != nil {
			who.Groups = *cf.ImpersonateGroup
		}
		if who.User != "" || len(who.Groups) > 0 {
			copts.Applier = &who
		}
	}
	if len(paths) == 0 {
		return nil
	}
	if slices.Contains(paths, manifests.Stdin) {
		return usageError("--policy reads files and folders; standard input is for -f")
	}
	set, err := manifests.NewReader(manifestcheck.Scheme(), nil).Read(paths)
	if err != nil {
		return exitCode{ExitUsage, fmt.Errorf("reading the policies: %w", err)}
	}
	for _, o := range set.Objects {
		if p, ok := o.Object.(*servingv1alpha1.ModelDeploymentPolicy); ok {
			copts.Policies = append(copts.Policies, *p)
		}
	}
	if len(copts.Policies) == 0 {
		return usageError("no ModelDeploymentPolicy found in %s", strings.Join(paths, ", "))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// probe.Prober is what --network asks.
var _ checklist.RemoteProber = (*probe.Prober)(nil)
