# A stand-in for the part of Homebrew's formula DSL pypyctl's formulae use,
# so tests can load a formula with plain Ruby and read what it declares for
# one OS and CPU ("spec"), or run its install and test blocks on an
# unpacked archive that runs on this machine ("install").
#
#   ruby harness.rb spec    FORMULA CLASS macos|linux arm|intel
#   ruby harness.rb install FORMULA CLASS linux intel SRC_DIR PREFIX
require "json"
require "pathname"
require "fileutils"

MODE, FORMULA, CLASS_NAME, OS_NAME, CPU = ARGV[0, 5]

class Pathname
  def install(*paths)
    mkpath
    paths.flatten.each { |p| FileUtils.mv(p.to_s, (self / File.basename(p.to_s)).to_s) }
  end

  def install_symlink(*targets)
    mkpath
    targets.flatten.each { |t| File.symlink(t.to_s, (self / File.basename(t.to_s)).to_s) }
  end
end

class Formula
  class << self
    def spec
      @spec ||= { "depends_on" => [] }
    end

    %w[desc homepage version license url sha256].each do |m|
      define_method(m) do |v|
        raise "#{m} declared twice for #{OS_NAME}/#{CPU}" if spec.key?(m)

        spec[m] = v
      end
    end

    def keg_only(reason)
      spec["keg_only"] = reason.to_s
    end

    def depends_on(dep)
      spec["depends_on"] << (dep.is_a?(Hash) ? dep.map { |k, v| "#{k}:#{v}" }.join(",") : dep.to_s)
    end

    def on_macos
      yield if OS_NAME == "macos"
    end

    def on_linux
      yield if OS_NAME == "linux"
    end

    def on_arm
      yield if CPU == "arm"
    end

    def on_intel
      yield if CPU == "intel"
    end

    def test(&block)
      spec["test"] = true
      @test_block = block
    end

    attr_reader :test_block
  end

  def initialize(prefix)
    @prefix = Pathname(prefix)
  end

  def libexec
    @prefix / "libexec"
  end

  def bin
    @prefix / "bin"
  end

  def opt_bin
    bin
  end

  def shell_output(cmd)
    out = `#{cmd}`
    raise "#{cmd}: exit #{$?.exitstatus}" unless $?.success?

    out
  end

  def system(*args)
    Kernel.system(*args.map(&:to_s)) or raise "#{args.join(" ")} failed"
  end

  def assert_equal(want, got)
    raise "expected #{want.inspect}, got #{got.inspect}" unless want == got
  end
end

load FORMULA
klass = Object.const_get(CLASS_NAME)
case MODE
when "spec"
  puts JSON.generate(klass.spec)
when "install"
  src, prefix = ARGV[5], ARGV[6]
  f = klass.new(prefix)
  Dir.chdir(src) { f.install }
  f.instance_exec(&klass.test_block)
  puts f.caveats
  puts "install and test passed"
else
  abort "mode #{MODE}: want spec or install"
end
