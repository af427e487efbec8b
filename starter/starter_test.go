package starter_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

// Every money flow starts the same way: its business id, reject-duplicate reuse and
// use-existing on conflict (a repeated request gets the running flow), its search
// attributes, and the bank timings from configuration when the input has none; a
// start of a flow that ran and closed is a success, any other failure is returned.
func TestStartsOfMoneyFlows(t *testing.T) {
	ctx := context.Background()
	cfg := starter.Config{TaskQueue: "q", Bank: models.BankTiming{BankPoll: 3 * time.Second, BankDeadline: time.Hour}, ApprovalTimeout: 48 * time.Hour}
	moneyOptions := func(id string) any {
		return mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
			return o.ID == id && o.TaskQueue == "q" &&
				o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
				o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING &&
				o.TypedSearchAttributes.Size() == 6
		})
	}
	c := &mocks.Client{}
	s := starter.New(c, cfg)

	pay := models.PaymentInput{PaymentID: "pay_1", MerchantID: "mch_demo", Amount: 1050, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim"}
	want := pay
	want.BankPoll, want.BankDeadline = cfg.Bank.BankPoll, cfg.Bank.BankDeadline
	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.PaymentWorkflowID("mch_demo", "pay_1")), mock.Anything, want).Return(nil, nil).Once()
	require.NoError(t, s.StartPayment(ctx, pay))

	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.PaymentWorkflowID("mch_demo", "pay_1")), mock.Anything, want).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("closed", "", "")).Once()
	require.NoError(t, s.StartPayment(ctx, pay), "a flow that ran and closed exists: nothing to do")

	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.PaymentWorkflowID("mch_demo", "pay_1")), mock.Anything, want).
		Return(nil, errors.New("unavailable")).Once()
	require.Error(t, s.StartPayment(ctx, pay))

	wd := models.WithdrawalInput{WithdrawalID: "wd_1", MerchantID: "mch_demo", Amount: 10, Currency: "CNY", Channel: "banksim", BankTiming: models.BankTiming{BankPoll: time.Second}}
	wantWd := wd
	wantWd.BankDeadline, wantWd.ApprovalTimeout = cfg.Bank.BankDeadline, cfg.ApprovalTimeout
	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.WithdrawalWorkflowID("mch_demo", "wd_1")), mock.Anything, wantWd).Return(nil, nil).Once()
	require.NoError(t, s.StartWithdrawal(ctx, wd), "the input's own timing is kept")

	top := models.TopupInput{TopupID: "top_1", MerchantID: "mch_demo", Amount: 10, Currency: "CNY", Channel: "banksim"}
	wantTop := top
	wantTop.BankPoll, wantTop.BankDeadline = cfg.Bank.BankPoll, cfg.Bank.BankDeadline
	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.TopupWorkflowID("mch_demo", "top_1")), mock.Anything, wantTop).Return(nil, nil).Once()
	require.NoError(t, s.StartTopup(ctx, top))

	re := models.RefundInput{RefundID: "re_1", PaymentID: "pay_1", MerchantID: "mch_demo", Amount: 10, Currency: "CNY", Channel: "banksim"}
	wantRe := re
	wantRe.BankPoll, wantRe.BankDeadline = cfg.Bank.BankPoll, cfg.Bank.BankDeadline
	c.On("ExecuteWorkflow", mock.Anything, moneyOptions(workflows.RefundWorkflowID("mch_demo", "re_1")), mock.Anything, wantRe).Return(nil, nil).Once()
	require.NoError(t, s.StartRefund(ctx, re))
	c.AssertExpectations(t)
}

// AwaitFlow reports a closed flow, however it ended, and "not yet" when the wait ends
// first.
func TestAwaitFlow(t *testing.T) {
	c := &mocks.Client{}
	s := starter.New(c, starter.Config{})
	done := &mocks.WorkflowRun{}
	done.On("Get", mock.Anything, mock.Anything).Return(nil)
	failed := &mocks.WorkflowRun{}
	// What the client answers for a flow that failed, timed out or was terminated.
	failed.On("Get", mock.Anything, mock.Anything).Return(fmt.Errorf("workflow: %w", &temporal.WorkflowExecutionError{}))
	running := &mocks.WorkflowRun{}
	running.On("Get", mock.Anything, mock.Anything).Return(func(ctx context.Context, _ any) error {
		<-ctx.Done()
		return ctx.Err()
	})
	c.On("GetWorkflow", mock.Anything, "done", "").Return(done)
	c.On("GetWorkflow", mock.Anything, "running", "").Return(running)
	c.On("GetWorkflow", mock.Anything, "failed", "").Return(failed)

	closed, err := s.AwaitFlow(context.Background(), "done")
	require.NoError(t, err)
	require.True(t, closed)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed, err = s.AwaitFlow(ctx, "running")
	require.NoError(t, err)
	require.False(t, closed)

	closed, err = s.AwaitFlow(context.Background(), "failed")
	require.NoError(t, err)
	require.True(t, closed)
}

// The flows of a stage are counted with the query an operator types in Temporal Web.
func TestCountOpenFlows(t *testing.T) {
	c := &mocks.Client{}
	s := starter.New(c, starter.Config{})
	c.On("CountWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.CountWorkflowExecutionsRequest) bool {
		return r.Query == `ExecutionStatus="Running" AND PayflowFlow IS NOT NULL AND PayflowStage="waiting_bank"`
	})).Return(&workflowservice.CountWorkflowExecutionsResponse{Count: 7}, nil).Once()
	n, err := s.CountOpenFlows(context.Background(), models.StageWaitingBank)
	require.NoError(t, err)
	require.Equal(t, int64(7), n)

	c.On("CountWorkflow", mock.Anything, mock.Anything).Return(nil, errors.New("unavailable")).Once()
	_, err = s.CountOpenFlows(context.Background(), models.StageNeedsAttention)
	require.Error(t, err)
	c.AssertExpectations(t)
}
