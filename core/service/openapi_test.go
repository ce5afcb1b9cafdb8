package service_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/httpapi"
	"github.com/cryptonets/cryptonets/core/service"
)

// TestOpenAPIDescribesTheRoutes checks docs/openapi.yaml against the service: every
// operation it documents is a route the service answers (not its "no such resource"
// or 405), and it documents as many operations as the service has.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	f, err := os.Open("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pathLine := regexp.MustCompile(`^  (/\S*):$`)
	methodLine := regexp.MustCompile(`^    (get|put|post|delete):$`)
	var ops [][2]string
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && line != "" && !strings.HasPrefix(line, " "):
			inPaths = false
		case inPaths && pathLine.MatchString(line):
			path = pathLine.FindStringSubmatch(line)[1]
		case inPaths && methodLine.MatchString(line):
			ops = append(ops, [2]string{strings.ToUpper(methodLine.FindStringSubmatch(line)[1]), path})
		}
	}
	// GET and DELETE of a key, PUT keys, three GETs of models, POST predict, health,
	// readiness and metrics.
	if len(ops) != 10 {
		t.Errorf("docs/openapi.yaml documents %d operations, the service has 10: %v", len(ops), ops)
	}
	e := newEnv(t, service.Config{}, "")
	for _, op := range ops {
		url := e.url + strings.NewReplacer("{name}", "mnist", "{id}", strings.Repeat("0", 64)).Replace(op[1])
		req, err := http.NewRequest(op[0], url, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body httpapi.ErrorBody
		json.Unmarshal(data, &body)
		if resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(body.Error.Message, "no such resource") {
			t.Errorf("%s %s is documented, the service answers HTTP %d %s", op[0], op[1], resp.StatusCode, body.Error.Message)
		}
	}
}
