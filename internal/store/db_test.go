package store

import (
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

func TestMySQLDriverDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn         string
		interpolate bool
		multi       bool
	}{
		{"mysql://root:@tcp(127.0.0.1:3306)/payflow", true, true},
		{"mysql://root@127.0.0.1:3306/payflow", true, true},
		{"mysql://root:@tcp(127.0.0.1:3306)/payflow?interpolateParams=false", false, true},
		{"mysql://root@127.0.0.1:3306/payflow?interpolateParams=false&multiStatements=false", false, false},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := MySQLDriverDSN(tc.dsn)
			require.NoError(t, err)
			cfg, err := mysqldriver.ParseDSN(d)
			require.NoError(t, err)
			require.Equal(t, "payflow", cfg.DBName)
			require.True(t, cfg.ParseTime)
			require.Contains(t, d, "charset=utf8mb4")
			require.Equal(t, tc.interpolate, cfg.InterpolateParams)
			require.NotContains(t, cfg.Params, "interpolateParams")
			require.Equal(t, tc.multi, cfg.MultiStatements)
			require.NotContains(t, cfg.Params, "multiStatements")
		})
	}
}
