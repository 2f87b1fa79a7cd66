package cli

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const approveExample = `  # Sign off the version being rolled out as the security reviewer
  kubectl modelgate approve fraud-scorer --role security --comment "pen test passed"

  # Attest a checklist item only a person can vouch for
  kubectl modelgate approve fraud-scorer --role security --item security-scan`

// nameUnsafe are the characters an object name cannot hold.
var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// approvalName is a readable, unique-enough name: md, version, role (and
// item), so a second approval of the same thing is refused as a duplicate.
func approvalName(md, version, role, item string) string {
	parts := []string{md, version, role}
	if item != "" {
		parts = append(parts, item)
	}
	n := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-"), "-")
	if len(n) > 253 {
		n = strings.TrimRight(n[:253], "-")
	}
	return n
}

func newApproveCommand(opts *Options) *cobra.Command {
	var role, comment, item, version string
	c := &cobra.Command{
		Use:   "approve NAME --role ROLE [--comment TEXT] [--item ID]",
		Short: "Sign off the version being rolled out, as a role (a ModelApproval)",
		Long: `Creates a ModelApproval for the ModelDeployment's candidate (or, with no
rollout in flight, the version its spec names). modelgate's admission webhook
stamps your identity from the API server's authentication: the approval counts
only if your groups include one that spec.approvals allows for the role, and
only for that exact version. With --item it attests a checklist item declared
in spec.checklist.attestations instead.`,
		Example:           approveExample,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return usageError("--role is required: the role you approve as, such as security or product-owner")
			}
			t, err := opts.connect(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			md, err := t.get(ctx)
			if err != nil {
				return err
			}
			if version == "" {
				version = md.Spec.Model.Version
				if c := md.Status.Candidate; c != nil {
					version = c.Version
				}
			}
			ap := &servingv1alpha1.ModelApproval{
				ObjectMeta: metav1.ObjectMeta{Namespace: t.namespace, Name: approvalName(md.Name, version, role, item)},
				Spec:       servingv1alpha1.ModelApprovalSpec{ModelDeployment: md.Name, Version: version, Role: role, Item: item, Comment: comment},
			}
			if err := t.c.Create(ctx, ap); err != nil {
				if apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("ModelApproval %s already exists: version %s was already approved as %s (kubectl get modelapproval %s -n %s -o yaml shows by whom)",
						ap.Name, version, role, ap.Name, t.namespace)
				}
				return t.explain(err, "approve")
			}
			what := fmt.Sprintf("version %s of %s as %s", version, md.Name, role)
			if item != "" {
				what = fmt.Sprintf("item %s of version %s of %s as %s", item, version, md.Name, role)
			}
			who := "you"
			if a := ap.Spec.Approver; a != nil {
				who = fmt.Sprintf("%s (groups %s)", a.Username, strings.Join(a.Groups, ", "))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Approved %s: ModelApproval %s, stamped with %s.\n", what, ap.Name, who)
			return nil
		},
	}
	c.Flags().StringVar(&role, "role", "", "Role you approve as (required), one of spec.approvals.required")
	c.Flags().StringVar(&comment, "comment", "", "Comment kept with the approval")
	c.Flags().StringVar(&item, "item", "", "Attest this checklist item (spec.checklist.attestations) rather than sign off the version")
	c.Flags().StringVar(&version, "version", "", "Version to approve (default: the candidate's, else the spec's)")
	return c
}
