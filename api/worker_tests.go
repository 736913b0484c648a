package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Scheduled worker tests at a site's high-risk posts (ledger/worker_tests.go):
// the schedules are recorded as worker_tests_scheduled events through
// /v1/events, the tests as site_tested events with the scope "workers";
// this reads a site's schedules with each day's status.

func (s *server) workerTests(c *gin.Context) {
	list, err := s.l.WorkerTests(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"site": c.Param("id"), "schedules": list})
}
