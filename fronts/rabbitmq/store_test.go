package rabbitmq_test

import (
	"testing"
	"time"

	"gatehouse/fronts/rabbitmq"
	"gatehouse/fronts/rabbitmq/rabbitmqtest"
)

func TestMemoryUsersConform(t *testing.T) {
	rabbitmqtest.RunUsers(t, func(_ *testing.T, now func() time.Time) rabbitmq.Users {
		return rabbitmq.NewMemoryUsers(now)
	})
}
