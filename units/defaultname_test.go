package units

import "testing"

func TestDefaultName(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"python3", "a.py"}, "a"},
		{[]string{"/usr/bin/python3", "-u", "/opt/bot/nav_node.py", "--speed", "3"}, "nav_node"},
		{[]string{"python3.11", "-W", "ignore", "b.py"}, "b"},
		{[]string{"python3", "-m", "http.server", "8000"}, "http.server"},
		{[]string{"python", "-mmy_pkg.driver"}, "my_pkg.driver"},
		{[]string{"python3", "-c", "print(1)"}, "python3"},
		{[]string{"python3"}, "python3"},
		{[]string{"node", "--inspect", "server.js"}, "server"},
		{[]string{"node", "-r", "dotenv/config", "app.mjs"}, "app"},
		{[]string{"bash", "-x", "./start robot.sh"}, "start-robot"},
		{[]string{"sh", "-c", "exit 3"}, "sh"},
		{[]string{"ruby", "-I", "lib", "bin/worker.rb"}, "worker"},
		{[]string{"perl", "-e", "1"}, "perl"},
		{[]string{"bash", "-e", "up.sh"}, "up"},
		{[]string{"node", "-e", "1"}, "node"},
		{[]string{"perl", "tool.pl"}, "tool"},
		{[]string{"sleep", "100"}, "sleep"},
		{[]string{"./bot.py"}, "bot.py"},
		{[]string{"bash", "--", "run.bash"}, "run"},
		{[]string{"python3", ".py"}, "py"},
	} {
		if got := DefaultName(tt.argv); got != tt.want {
			t.Errorf("DefaultName(%q) = %q, want %q", tt.argv, got, tt.want)
		}
		if err := ValidateName(DefaultName(tt.argv)); err != nil {
			t.Errorf("DefaultName(%q): %v", tt.argv, err)
		}
	}
}
