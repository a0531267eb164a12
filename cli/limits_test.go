package cli

import (
	"testing"

	"github.com/runctl/runctl/units"
)

func TestProcLimit(t *testing.T) {
	limits := `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max core file size        0                    unlimited            bytes     
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
Max realtime priority     0                    0                    
`
	for _, tt := range []struct {
		key        string
		soft, hard uint64
	}{
		{"LimitCORE", 0, units.Unlimited},
		{"LimitNOFILE", 1024, 524288},
		{"LimitMEMLOCK", 8388608, 8388608},
		{"LimitRTPRIO", 0, 0},
	} {
		soft, hard, ok := procLimit(limits, units.ProcLimitNames[tt.key])
		if !ok || soft != tt.soft || hard != tt.hard {
			t.Errorf("%s: %d:%d %v, want %d:%d", tt.key, soft, hard, ok, tt.soft, tt.hard)
		}
	}
	s := &units.Spec{Properties: []string{"LimitNOFILE=100:200", "LimitMEMLOCK=1G", "OOMScoreAdjust=-5", "Nice=3", "LimitNOFILE=300"}}
	got := s.AskedLimits()
	want := []units.Asked{{Key: "LimitNOFILE", Soft: 300, Hard: 300}, {Key: "LimitMEMLOCK", Soft: 1 << 30, Hard: 1 << 30}, {Key: "OOMScoreAdjust", OOM: -5}}
	if len(got) != len(want) {
		t.Fatalf("AskedLimits = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("AskedLimits[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := limitPair(5, units.Unlimited); got != "5:infinity" {
		t.Errorf("limitPair = %q", got)
	}
}
